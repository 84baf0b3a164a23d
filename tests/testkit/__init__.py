"""The one test kit every suite shares. Test modules import from it directly (`from testkit.build import
env_rule`); the conftest.py files only turn it into fixtures. A package with its own name: `from conftest import`
would be ambiguous, since every conftest.py of the suite is a module named `conftest`.

- `testkit.git`: real git (bare remotes, `git daemon`, a hermetic environment, plato as a process).
- `testkit.build`: rule documents and Score workloads as data, and YAML streams of them.
- `testkit.objects`: reading rendered objects (documents, a kind by name, a container, an env variable).
- `testkit.asserts`: what a refused run must look like (exit 2, one clear line, no traceback).
- `testkit.render`: `RenderKit`, in-process rendering and `plato render` (the create and check suites).
- `testkit.process`: `ProcessKit`, plato as its own process against real repositories (the reliability suite).
- `testkit.promotion`: a rules folder with three stages (development, staging, production) for promotion tests.
"""
