"""The base class of errors caused by what the user gave us (config, files, data).

The launcher prints these as one clear message and exits with status 2, without a traceback;
every other exception is a bug and keeps its traceback.
"""


class UserInputError(Exception):
    """A problem the user can fix: the message names the file, line or config path and what to do."""
