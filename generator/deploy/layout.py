"""Where plato keeps its own things in a deployment repository, by name only: the record of each (env, app) and
the branch of its pull request. Nothing here imports anything, so that a publish can start fetching these before
the heavy part of plato is imported (cli.publish)."""

RECORD_DIR = ".plato/inputs"


def record_path(env: str, app: str) -> str:
    return f"{RECORD_DIR}/{env}/{app}.json"


def pr_branch(env: str, app: str) -> str:
    return f"plato/{env}/{app}"
