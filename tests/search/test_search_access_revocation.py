"""Per-item access tokens are bound to the Camio that shared the item: revoking it revokes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from search.access_tokens import item_access_check_many, item_access_token
from search.models import Camio
from tests.search.test_search_factories import T0, camera, event

pytestmark = pytest.mark.django_db


def share(owner, **query) -> Camio:
    base = {"cameras": [], "labels": [], "events": [], "start_date": None, "end_date": None, "sort": "desc"}
    return Camio.objects.create(owner=owner, name="shared", query=base | query)


def tokens(client, **params) -> dict[str, str]:
    """id -> access_token of every image the search returns."""
    response = client.get("/api/search", {"motion_type": "all", **params})
    assert response.status_code == 200, response.content
    return {i["id"]: i["access_token"] for b in response.json()["result"]["buckets"] for i in b["images"]}


def redeem(anon, pairs: dict[str, str]) -> list[str]:
    response = anon.post("/api/content", [{"id": i, "access_token": t} for i, t in pairs.items()], format="json")
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()]


@pytest.fixture
def front(user):
    return event(camera(user, "front"), T0, items=2, stored=True)


def test_deleting_the_camio_revokes_its_items_tokens(api, anon, user, front):
    camio = share(user, cameras=["front"])
    pairs = tokens(anon, view_tokens=camio.view_token)
    [(pid, token)] = list(pairs.items())[:1]
    assert redeem(anon, pairs) == list(pairs)
    assert anon.get(f"/api/content/{pid}", {"access_token": token}).status_code == 200
    assert api.delete(f"/api/users/me/camios/{camio.view_token}").status_code == 204
    assert redeem(anon, pairs) == []
    assert anon.get(f"/api/content/{pid}", {"access_token": token}).status_code == 404


def test_an_expired_camio_or_an_inactive_owner_opens_nothing(anon, user, front):
    camio = share(user)
    pairs = tokens(anon, view_tokens=camio.view_token)
    Camio.objects.filter(pk=camio.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert redeem(anon, pairs) == []
    Camio.objects.filter(pk=camio.pk).update(expires_at=None)
    assert redeem(anon, pairs) == list(pairs)
    user.is_active = False
    user.save()
    assert redeem(anon, pairs) == []


def test_the_owners_own_tokens_outlive_any_camio(api, anon, user, front):
    camio = share(user)
    own = tokens(api, fetch_access_tokens="true")
    camio.delete()
    assert redeem(anon, own) == list(own)


def test_tokens_of_the_earlier_format_are_refused(anon, front):
    pid = front.cover.public_id
    old = signing.TimestampSigner(salt="camhub.search.item-access").sign(pid).split(":", 1)[1]
    assert redeem(anon, {pid: old}) == []
    # Nor the owner's-own form before viewers were named (issuer 0: revocable by nothing).
    unnamed = signing.TimestampSigner(salt="camhub.search.item-access.v2").sign(f"{pid}:0").split(":", 1)[1]
    assert redeem(anon, {pid: unnamed}) == []
    owner = front.owner_id
    assert redeem(anon, {pid: item_access_token(pid, viewer=(owner, owner))}) == [pid]


def test_each_camio_and_account_revokes_only_its_own(api, anon, user, other_user, front):
    back = event(camera(user, "back"), T0 + timedelta(minutes=1), items=2)
    bob = event(camera(other_user, "front"), T0, items=2)
    front_camio = share(user, cameras=["front"])
    shared = [front_camio, share(user, cameras=["back"]), share(other_user)]
    pairs = tokens(anon, view_tokens=",".join(c.view_token for c in shared))
    assert len(pairs) == 6
    assert api.delete(f"/api/users/me/camios/{front_camio.view_token}").status_code == 204
    left = redeem(anon, pairs)
    assert set(left) == {c.public_id for ev in (back, bob) for c in _contents(ev)}
    # A token can be moved to no other item, even one of a live Camio.
    front_id, back_id = _contents(front)[0].public_id, _contents(back)[0].public_id
    assert redeem(anon, {front_id: pairs[back_id]}) == []


def test_one_query_checks_a_whole_batch(django_assert_num_queries, user, other_user):
    camios = [share(user), share(user), share(other_user)]
    batch = [(f"item{i}", item_access_token(f"item{i}", camio_id=c.pk)) for i, c in enumerate(camios)]
    own = ("own", item_access_token("own", viewer=(user.pk, user.pk)))
    batch.append(own)
    batch.append(("forged", item_access_token("other", camio_id=camios[0].pk)))
    with django_assert_num_queries(2):  # the Camios named, the accounts named
        assert item_access_check_many(batch) == [True, True, True, True, False]
    with django_assert_num_queries(1):
        assert item_access_check_many([own]) == [True]


def _contents(ev):
    return [a.content for a in ev.items.select_related("content").order_by("content__captured_at")]
