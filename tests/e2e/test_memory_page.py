"""The memory page beyond add and search: forgetting can be undone for a few seconds and
is final after, a memory can be corrected and filed under a category."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.test_web_app import sign_up

UNDO_SECONDS = 8  # web/src/memory/MemoryView.tsx UNDO_MS


def _add(page: Page, fact: str, category: str | None = None) -> None:
    page.get_by_label("Something to remember").fill(fact)
    if category:
        page.get_by_label("Category of the new memory").select_option(category)
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_role("list", name="Memories")).to_contain_text(fact)


def test_forgetting_can_be_undone_then_is_final(page: Page, dsn: str) -> None:
    sign_up(page, dsn)
    page.get_by_role("link", name="Memory").click()
    _add(page, "Has a golden retriever called Biscuit")
    deletes: list[str] = []
    page.on("request", lambda r: deletes.append(r.url) if r.method == "DELETE" else None)

    page.get_by_role("button", name="Forget: Has a golden retriever called Biscuit").click()
    expect(page.get_by_role("list", name="Memories")).to_have_count(0)
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("list", name="Memories")).to_contain_text("Biscuit")
    page.wait_for_timeout(500)
    assert deletes == []

    page.get_by_role("button", name="Forget: Has a golden retriever called Biscuit").click()
    with page.expect_response(
        lambda r: r.request.method == "DELETE", timeout=(UNDO_SECONDS + 3) * 1000
    ) as deleted:
        pass
    assert deleted.value.status == 204
    expect(page.get_by_role("button", name="Undo")).to_have_count(0)
    page.reload()
    page.get_by_role("link", name="Memory").click()
    expect(page.get_by_text("Nothing remembered yet.")).to_be_visible()


def test_a_memory_is_corrected_and_filed_under_a_category(page: Page, dsn: str) -> None:
    sign_up(page, dsn)
    page.get_by_role("link", name="Memory").click()
    _add(page, "Is allergic to peanut", category="health")
    memories = page.get_by_role("list", name="Memories")
    expect(memories).to_contain_text("Health")
    page.get_by_role("button", name="Edit: Is allergic to peanut").click()
    editing = page.get_by_role("form", name="Edit: Is allergic to peanut")
    editing.get_by_label("Memory").fill("Is allergic to peanuts and cashews")
    editing.get_by_label("Category").select_option("preference")
    editing.get_by_role("button", name="Save").click()
    expect(memories).to_contain_text("Is allergic to peanuts and cashews")
    expect(memories).to_contain_text("Likes and dislikes")
    page.reload()
    page.get_by_role("link", name="Memory").click()
    expect(memories).to_contain_text("Is allergic to peanuts and cashews")
