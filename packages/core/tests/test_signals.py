"""Stop signals: immediate outside the training loop, at the next boundary inside it, never mid-update."""

from __future__ import annotations

import os
import signal

import pytest
from cosmos_core.signals import Interrupted, StopHandler, active, handling_stop_signals


def send(signum: int) -> None:
    os.kill(os.getpid(), signum)


def test_outside_polling_a_signal_stops_at_once():
    with handling_stop_signals() as handler:
        assert active() is handler
        with pytest.raises(Interrupted) as info:
            send(signal.SIGHUP)
    assert info.value.signal_name == "SIGHUP" and info.value.exit_code == 129
    assert active() is None and signal.getsignal(signal.SIGTERM) is not handler._handle


def test_while_polling_the_first_signal_is_recorded_and_the_same_again_stops():
    with handling_stop_signals() as handler, handler.polling():
        send(signal.SIGTERM)
        assert handler.requested == signal.SIGTERM
        send(signal.SIGINT)  # torchrun's SIGTERM after a Ctrl-C, or the reverse: only noted
        assert handler.requested == signal.SIGTERM
        with pytest.raises(Interrupted):
            send(signal.SIGTERM)


def test_a_critical_block_is_never_cut(tmp_path):
    done = []
    with handling_stop_signals() as handler, pytest.raises(Interrupted), handler.critical():
        send(signal.SIGTERM)
        done.append("rest of the update")
    assert done == ["rest of the update"]


def test_interrupted_is_a_keyboard_interrupt():
    assert isinstance(Interrupted(signal.SIGTERM), KeyboardInterrupt)
    assert StopHandler().requested is None
