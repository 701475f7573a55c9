"""The action log through the web app: what is recorded, from where, and undo from the log."""

from __future__ import annotations

import io
import re

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage

from storage.actions import ActionDraft
from storage.files import FileOwner

from .conftest import ALICE, BOB, csrf_from
from .flask_client import text

pytestmark = pytest.mark.timeout(60)

# RIPE NCC's address: the bundled database places it in Amsterdam.
PUBLIC_IP = "193.0.6.139"
AMSTERDAM = "Amsterdam, North Holland, Netherlands"
_ACTION_ROW = re.compile(r'data-action-id="(\d+)" data-kind="([a-z.]+)"')


class Browser:
    """A signed-in test client coming from one IP, with its CSRF token."""

    def __init__(self, app, email: str, password: str, ip: str = PUBLIC_IP) -> None:
        self.http: FlaskClient = app.test_client()
        self.http.environ_base["REMOTE_ADDR"] = ip
        token = csrf_from(text(self.http.get("/login")))
        signed_in = self.http.post("/login", data={"email": email, "password": password,
                                                   "csrf_token": token})
        assert signed_in.status_code == 302
        self.token = csrf_from(text(self.http.get("/account/actions")))

    def post(self, url: str, **data: str):
        return self.http.post(url, data={**data, "csrf_token": self.token})

    def upload(self, name: str, folder_id: int | None = None) -> int:
        response = self.http.post("/files/upload", headers={"Accept": "application/json"},
                                  data={"csrf_token": self.token,
                                        "folder_id": str(folder_id or ""),
                                        "file": FileStorage(io.BytesIO(b"G28\nG1 X1\n"), name)})
        assert response.status_code == 201, text(response)
        return response.get_json()["id"]

    def folder(self, name: str, parent_id: int | None = None) -> None:
        assert self.post("/files/folders", name=name,
                         parent_id=str(parent_id or "")).status_code == 302

    def log(self, **args: str) -> str:
        response = self.http.get("/account/actions", query_string=args)
        assert response.status_code == 200
        return text(response)

    def undo(self, action_id: int):
        return self.post(f"/account/actions/{action_id}/undo")


@pytest.fixture
def alice(app, users) -> Browser:
    return Browser(app, *ALICE)


@pytest.fixture
def bob(app, users) -> Browser:
    return Browser(app, *BOB, ip="8.8.8.8")


def _rows(html: str) -> list[tuple[int, str]]:
    return [(int(action_id), kind) for action_id, kind in _ACTION_ROW.findall(html)]


def _latest(store, user_id: int, kind: str):
    return next(a for a in store.actions_for_user(user_id) if a.kind == kind)


def _folder_id(store, user_id: int, name: str, parent_id: int | None = None) -> int:
    return next(e.id for e in store.folder_entries(FileOwner(user_id=user_id), parent_id)
                if e.name == name)


def test_file_actions_are_logged_with_ip_and_place(alice, store, users):
    alice_id = users[ALICE[0]]
    alice.folder("prints")
    prints = _folder_id(store, alice_id, "prints")
    file_id = alice.upload("cube.gcode")
    assert alice.post(f"/files/{file_id}/rename", name=" box.gcode ").status_code == 302
    assert alice.post(f"/files/{file_id}/move", parent_id=str(prints)).status_code == 302
    assert alice.post(f"/files/{file_id}/delete").status_code == 302
    assert alice.post(f"/files/{file_id}/restore").status_code == 302
    logged = store.actions_for_user(alice_id)
    assert [(a.kind, a.target_type, a.summary) for a in logged] == [
        ("file.restore", "file", "Restored file “box.gcode” from the trash"),
        ("file.delete", "file", "Deleted file “box.gcode”"),
        ("file.move", "file", "Moved file “box.gcode” to folder “prints”"),
        ("file.rename", "file", "Renamed file “cube.gcode” to “box.gcode”"),
        ("file.upload", "file", "Uploaded file “cube.gcode”"),
        ("folder.create", "folder", "Created folder “prints”"),
    ]
    assert {a.target_id for a in logged[:5]} == {str(file_id)}
    assert all((a.ip, a.place, a.user_id, a.org_id) == (PUBLIC_IP, AMSTERDAM, alice_id, None)
               for a in logged)
    page = alice.log()
    assert [kind for _, kind in _rows(page)] == [a.kind for a in logged]
    assert page.count(AMSTERDAM) == 6 and page.count(PUBLIC_IP) == 6
    assert "Renamed file “cube.gcode” to “box.gcode”" in page
    assert "IP Geolocation by DB-IP" in page


def test_a_private_address_is_logged_without_a_place(app, users, store):
    browser = Browser(app, *ALICE, ip="192.168.1.20")
    browser.folder("local")
    action = _latest(store, users[ALICE[0]], "folder.create")
    assert (action.ip, action.country, action.region, action.city) == ("192.168.1.20", None,
                                                                       None, None)
    assert "192.168.1.20" in browser.log()


def test_undo_a_file_deletion_restores_it_once(alice, store, users):
    alice_id = users[ALICE[0]]
    mine = FileOwner(user_id=alice_id)
    file_id = alice.upload("benchy.gcode")
    alice.post(f"/files/{file_id}/delete")
    deletion = _latest(store, alice_id, "file.delete")
    assert f'action="/account/actions/{deletion.id}/undo"' in alice.log()
    undone = alice.undo(deletion.id)
    assert undone.status_code == 302
    assert undone.headers["Location"].endswith(f"/account/actions?undone={deletion.id}")
    assert store.file_entry(mine, file_id) is not None, "restored from the trash"
    after = store.action_for_user(alice_id, deletion.id)
    assert after.undone_at is not None and after.undone_by == alice_id
    record = _latest(store, alice_id, "action.undo")
    assert (record.target_type, record.target_id) == ("action", str(deletion.id))
    assert record.summary == "Undid: Deleted file “benchy.gcode” (restored file “benchy.gcode”)"
    assert record.place == AMSTERDAM and record.undo is None
    page = alice.log(undone=str(deletion.id))
    assert "Undone: Deleted file “benchy.gcode”" in page
    assert f'action="/account/actions/{deletion.id}/undo"' not in page
    # A second undo says so and changes nothing, even after the file was deleted again.
    alice.post(f"/files/{file_id}/delete")
    count = len(store.actions_for_user(alice_id))
    again = alice.undo(deletion.id)
    assert again.status_code == 409
    assert "Already undone: Deleted file “benchy.gcode”. Nothing changed." in text(again)
    assert store.file_entry(mine, file_id) is None, "still in the trash"
    assert len(store.actions_for_user(alice_id)) == count
    assert store.action_for_user(alice_id, deletion.id).undone_at == after.undone_at


def test_undo_a_folder_deletion_brings_back_what_it_held(alice, store, users):
    alice_id = users[ALICE[0]]
    mine = FileOwner(user_id=alice_id)
    alice.folder("parts")
    parts = _folder_id(store, alice_id, "parts")
    inner = alice.upload("gear.gcode", parts)
    alice.post(f"/files/{parts}/delete")
    assert store.file_entry(mine, inner) is None
    assert alice.undo(_latest(store, alice_id, "folder.delete").id).status_code == 302
    assert store.file_entry(mine, parts) is not None
    assert store.file_entry(mine, inner).parent_id == parts


def test_undo_a_rename_gives_back_the_old_name(alice, store, users):
    alice_id = users[ALICE[0]]
    mine = FileOwner(user_id=alice_id)
    file_id = alice.upload("first.gcode")
    alice.post(f"/files/{file_id}/rename", name="second.gcode")
    assert alice.undo(_latest(store, alice_id, "file.rename").id).status_code == 302
    assert store.file_entry(mine, file_id).name == "first.gcode"


def test_undo_a_move_puts_it_back(alice, store, users):
    alice_id = users[ALICE[0]]
    mine = FileOwner(user_id=alice_id)
    alice.folder("a")
    alice.folder("b")
    a, b = _folder_id(store, alice_id, "a"), _folder_id(store, alice_id, "b")
    file_id = alice.upload("x.gcode", a)
    alice.post(f"/files/{file_id}/move", parent_id=str(b))
    alice.post(f"/files/{file_id}/move", parent_id="")
    top_move, b_move = [x for x in store.actions_for_user(alice_id) if x.kind == "file.move"]
    assert top_move.summary == "Moved file “x.gcode” to the top folder"
    assert alice.undo(b_move.id).status_code == 302
    assert store.file_entry(mine, file_id).parent_id == a
    assert alice.undo(top_move.id).status_code == 302
    assert store.file_entry(mine, file_id).parent_id == b


def test_undo_an_upload_moves_it_to_the_trash(alice, store, users):
    alice_id = users[ALICE[0]]
    mine = FileOwner(user_id=alice_id)
    file_id = alice.upload("oops.gcode")
    assert alice.undo(_latest(store, alice_id, "file.upload").id).status_code == 302
    assert [e.id for e in store.trashed_entries(mine)] == [file_id]


def test_an_undo_that_cannot_apply_changes_nothing_and_stays_offered(alice, store, users):
    alice_id = users[ALICE[0]]
    mine = FileOwner(user_id=alice_id)
    file_id = alice.upload("first.gcode")
    alice.post(f"/files/{file_id}/rename", name="second.gcode")
    alice.post(f"/files/{file_id}/delete")
    rename = _latest(store, alice_id, "file.rename")
    refused = alice.undo(rename.id)
    assert refused.status_code == 409
    assert "is in the trash; restore it first" in text(refused)
    assert store.file_entry(mine, file_id, include_trashed=True).name == "second.gcode"
    assert store.action_for_user(alice_id, rename.id).can_undo
    # The move's old folder went to the trash: moving back is refused too.
    alice.folder("gone")
    gone = _folder_id(store, alice_id, "gone")
    other = alice.upload("other.gcode", gone)
    alice.post(f"/files/{other}/move", parent_id="")
    alice.post(f"/files/{gone}/delete")
    refused = alice.undo(_latest(store, alice_id, "file.move").id)
    assert refused.status_code == 409 and "is gone or in the trash" in text(refused)
    assert store.file_entry(mine, other).parent_id is None


def test_profile_changes_are_logged_and_undone_to_the_old_values(alice, store, users):
    alice_id = users[ALICE[0]]
    profile = {"email": ALICE[0], "first_name": "Alice", "last_name": "Liddell"}
    assert alice.post("/account/profile", **profile).status_code == 200
    first = _latest(store, alice_id, "profile.update")
    assert first.summary == "Changed your first name, last name"
    assert alice.post("/account/profile", **profile).status_code == 200
    assert _latest(store, alice_id, "profile.update").id == first.id, "no change, no entry"
    changed = profile | {"email": "alice@elsewhere.example", "first_name": "Alicia"}
    assert alice.post("/account/profile", **changed).status_code == 200
    change = _latest(store, alice_id, "profile.update")
    assert change.summary == "Changed your email, first name"
    assert change.undo["fields"] == {"email": ALICE[0], "first_name": "Alice"}
    assert alice.undo(change.id).status_code == 302
    user = store.user_by_id(alice_id)
    assert (user.email, user.first_name, user.last_name) == (ALICE[0], "Alice", "Liddell")
    assert "Undone: Changed your email, first name" in alice.log(undone=str(change.id))


def test_undo_of_an_email_change_refused_when_another_account_took_it(alice, store, users):
    alice_id = users[ALICE[0]]
    alice.post("/account/profile", email="new@example.org", first_name="A", last_name="L")
    change = _latest(store, alice_id, "profile.update")
    store.create_user(ALICE[0], "x")
    refused = alice.undo(change.id)
    assert refused.status_code == 409 and "Another account uses" in text(refused)
    assert store.user_by_id(alice_id).email == "new@example.org"
    assert store.action_for_user(alice_id, change.id).can_undo


def test_ending_a_session_is_logged_and_not_undoable(app, alice, store, users):
    alice_id = users[ALICE[0]]
    other = Browser(app, *ALICE)
    assert other.http.get("/account/actions").status_code == 200
    session_id = store.web_sessions_for_user(alice_id)[0].id
    assert alice.post(f"/account/sessions/{session_id}/end").status_code == 302
    ended = _latest(store, alice_id, "session.end")
    assert (ended.target_type, ended.target_id, ended.undo) == ("session", str(session_id), None)
    page = alice.log()
    assert f'action="/account/actions/{ended.id}/undo"' not in page
    refused = alice.undo(ended.id)
    assert refused.status_code == 409 and "cannot be undone" in text(refused)


def test_claiming_a_printer_is_logged(alice, store, users):
    register = alice.http.post("/api/v1/pairing/register",
                               json={"hostname": "octopi", "agent_version": "1.0"})
    assert register.status_code == 201
    code, device_id = register.get_json()["code"], register.get_json()["device_id"]
    claimed = alice.http.post("/api/v1/pairing/claim", json={"code": code, "name": "Bay 1"},
                              headers={"X-CSRF-Token": alice.token})
    assert claimed.status_code == 201, text(claimed)
    added = _latest(store, users[ALICE[0]], "printer.add")
    assert (added.target_type, added.target_id) == ("printer", device_id)
    assert added.summary == f"Added printer “Bay 1” ({device_id})"
    assert added.place == AMSTERDAM and not added.can_undo


def test_another_users_action_is_404_on_the_page_and_for_undo(alice, bob, store, users):
    alice_id = users[ALICE[0]]
    mine = FileOwner(user_id=alice_id)
    file_id = alice.upload("secret.gcode")
    alice.post(f"/files/{file_id}/delete")
    deletion = _latest(store, alice_id, "file.delete")
    assert "secret.gcode" not in bob.log()
    assert _rows(bob.log()) == []
    assert bob.undo(deletion.id).status_code == 404
    assert bob.undo(deletion.id + 1000).status_code == 404
    assert store.file_entry(mine, file_id) is None, "still in alice's trash"
    assert store.action_for_user(alice_id, deletion.id).can_undo
    assert store.actions_for_user(users[BOB[0]]) == []
    # Bob's own log shows his own actions, from his own address.
    bob.folder("bobs")
    assert [kind for _, kind in _rows(bob.log())] == ["folder.create"]
    assert "8.8.8.8" in bob.log() and "United States" in bob.log()


def test_undo_needs_the_csrf_token(alice, store, users):
    alice_id = users[ALICE[0]]
    file_id = alice.upload("a.gcode")
    alice.post(f"/files/{file_id}/delete")
    deletion = _latest(store, alice_id, "file.delete")
    assert alice.http.post(f"/account/actions/{deletion.id}/undo").status_code == 400
    assert store.action_for_user(alice_id, deletion.id).can_undo


def test_the_log_is_paged_newest_first(alice, store, users):
    alice_id = users[ALICE[0]]
    ids = [store.record_action(ActionDraft(
        at=1000.0 + n, user_id=alice_id, org_id=None, ip="10.0.0.1", country=None, region=None,
        city=None, kind="setting.update", target_type="setting", target_id=str(n),
        summary=f"Changed setting {n}")).id for n in range(57)]
    first = alice.log()
    assert [action_id for action_id, _ in _rows(first)] == ids[::-1][:50]
    older = re.search(r'href="(/account/actions\?before=\d+)" data-action="older"', first)
    assert older, "a link to older actions"
    second = text(alice.http.get(older.group(1)))
    assert [action_id for action_id, _ in _rows(second)] == ids[::-1][50:]
    assert 'data-action="older"' not in second


def test_the_log_needs_a_signed_in_user(app, users):
    anonymous = app.test_client()
    page = anonymous.get("/account/actions")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_undo_into_a_name_taken_since_is_refused_and_changes_nothing(alice, store, users):
    mine = FileOwner(user_id=users[ALICE[0]])
    file_id = alice.upload("benchy.gcode")
    alice.post(f"/files/{file_id}/delete")
    deletion = _latest(store, users[ALICE[0]], "file.delete")
    newer = alice.upload("Benchy.gcode")
    refused = alice.undo(deletion.id)
    assert refused.status_code == 409
    assert "A file or folder named “benchy.gcode” is already in this folder; nothing " \
        "changed." in text(refused)
    assert store.file_entry(mine, file_id) is None, "still in the trash"
    assert store.file_entry(mine, newer) is not None
    assert store.action_for_user(users[ALICE[0]], deletion.id).undone_at is None
