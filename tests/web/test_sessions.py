from web.sessions import SessionRegistry


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_tokens_are_unique_and_map_to_their_user():
    registry = SessionRegistry()
    first, second = registry.open(1), registry.open(2)
    assert first != second
    assert registry.user_id_for(first) == 1
    assert registry.user_id_for(second) == 2
    assert registry.user_id_for("not-a-token") is None


def test_closed_token_no_longer_signs_in():
    registry = SessionRegistry()
    token = registry.open(1)
    registry.close(token)
    assert registry.user_id_for(token) is None
    registry.close(token)  # closing twice is harmless


def test_token_expires_after_its_lifetime():
    clock = FakeClock()
    registry = SessionRegistry(lifetime_s=60, clock=clock)
    token = registry.open(1)
    clock.now += 59
    assert registry.user_id_for(token) == 1
    clock.now += 1
    assert registry.user_id_for(token) is None
