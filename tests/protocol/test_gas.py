"""The gas limit the client sends covers what the next block's timestamp can add to an estimate."""
from fabrica.protocol.gas import gas_limit

NEW_CHECKPOINT = 22_100  # a vote checkpoint pushed into a fresh slot instead of updated in place


def test_small_calls_have_room_for_three_new_checkpoints() -> None:
    # A slash pushes the operator's delegate and the total supply; a stake also the delegate's first checkpoint.
    for estimate in (21_000, 60_000, 200_000, 240_000):
        assert gas_limit(estimate) - estimate >= 3 * NEW_CHECKPOINT + 10_000


def test_large_calls_keep_a_proportional_margin_but_never_pass_the_block_limit() -> None:
    assert gas_limit(10_000_000) >= 12_000_000
    assert gas_limit(10_000_000, block_gas_limit=11_000_000) == 11_000_000
