# Old-style (2018) environment file: still supported.
def get_env(stage=None):
    return {"GREETING": "Hello", "LOG_LEVEL": "INFO"}
