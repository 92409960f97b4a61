"""Run logging to console.log and debug.log."""

from __future__ import annotations

import logging

from cosmos_core.training.logs import setup_run_logging


def test_rank0_writes_info_to_console_log_and_debug_to_debug_log(tmp_path, capsys):
    with setup_run_logging(tmp_path, rank=0):
        logging.getLogger("cosmos.train").info("iter 1 loss 0.5")
        logging.getLogger("cosmos.train").debug("batch shapes")
    console = (tmp_path / "console.log").read_text()
    debug = (tmp_path / "debug.log").read_text()
    assert "iter 1 loss 0.5" in console and "batch shapes" not in console
    assert "iter 1 loss 0.5" in debug and "batch shapes" in debug
    out = capsys.readouterr().out
    assert "iter 1 loss 0.5" in out and "batch shapes" not in out


def test_setup_is_idempotent_and_close_restores_the_logger(tmp_path):
    logger = logging.getLogger("cosmos")
    level, propagate, handlers = logger.level, logger.propagate, list(logger.handlers)
    setup_run_logging(tmp_path / "a")
    second = setup_run_logging(tmp_path / "b")
    logging.getLogger("cosmos.x").info("only in b")
    assert len(logger.handlers) == len(handlers) + 3
    second.close()
    assert (logger.level, logger.propagate, logger.handlers) == (level, propagate, handlers)
    assert "only in b" not in (tmp_path / "a" / "console.log").read_text()
    assert "only in b" in (tmp_path / "b" / "console.log").read_text()


def test_other_ranks_print_warnings_only_and_write_no_files(tmp_path, capsys):
    with setup_run_logging(tmp_path, rank=1):
        logging.getLogger("cosmos.train").info("chatty")
        logging.getLogger("cosmos.train").warning("disk almost full")
    err = capsys.readouterr().err
    assert "[rank 1]" in err and "disk almost full" in err and "chatty" not in err
    assert not (tmp_path / "console.log").exists()
