"""An operator of the server has no tool to see a user's files or camera pictures."""

from __future__ import annotations

import pytest
from flask import Flask

from .conftest import ALICE, BOB
from .flask_client import sign_in
from .test_authorization_matrix import OWNED_BY_ALICE, World

pytestmark = pytest.mark.timeout(60)


def test_an_operator_gets_404_for_another_users_files_and_pictures(app: Flask, store, users,
                                                                   db_path):
    alice = app.test_client()
    assert sign_in(alice, *ALICE).status_code == 302
    world = World(app, store, db_path, users[ALICE[0]], alice, {})
    for name in ("entry_id", "device_id", "job_id", "picture_id"):
        world.ids[name] = OWNED_BY_ALICE[name](world)
    ids = world.ids
    private = [f"/files/{ids['entry_id']}", f"/files/{ids['entry_id']}/download",
               f"/files/{ids['entry_id']}/thumbnails/0",
               f"/printers/{ids['device_id']}/camera/live.jpg",
               f"/jobs/{ids['job_id']}/pictures/{ids['picture_id']}"]
    # The owner reaches each one, so the 404s below are the operator's, not missing things.
    for url in private:
        response = alice.get(url)
        assert response.status_code == 200, url
        response.close()
    store.set_operator(users[BOB[0]], True)
    operator = app.test_client()
    assert sign_in(operator, *BOB).status_code == 302
    assert operator.get("/admin/retention").status_code == 200  # really an operator
    answers = {}
    for url in private:
        response = operator.get(url)
        answers[url] = response.status_code
        response.close()
    assert answers == dict.fromkeys(private, 404)
