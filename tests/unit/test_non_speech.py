"""Which transcripts ask nothing: hesitation sounds always, acknowledgements over a reply."""

from __future__ import annotations

import pytest

from butler.voice.non_speech import is_not_a_request


@pytest.mark.parametrize("text", ["Um.", "Um, um.", "Hmm...", "uh", "[coughs]", "(laughs) hmm", ""])
def test_hesitation_sounds_and_sound_tags_ask_nothing(text: str) -> None:
    assert is_not_a_request(text, butler_speaking=False)
    assert is_not_a_request(text, butler_speaking=True)


@pytest.mark.parametrize("text", ["Mm-hmm.", "Uh-huh", "Yeah.", "Okay, okay."])
def test_acknowledgements_ask_nothing_only_while_the_butler_speaks(text: str) -> None:
    assert is_not_a_request(text, butler_speaking=True)
    assert not is_not_a_request(text, butler_speaking=False), "alone, it answers a question"


@pytest.mark.parametrize(
    "text",
    [
        "Stop.",
        "Um, stop.",
        "Yeah, turn it off.",
        "Oh no",
        "Humm the tune",
        "Ummah",
        "Huh?",
        # Numbers said after a pause come as digits alone; they carry the request.
        "30%",
        "4472.",
        "7:15",
        "Uh, 21.",
    ],
)
def test_anything_with_a_real_word_is_a_request(text: str) -> None:
    assert not is_not_a_request(text, butler_speaking=True)
    assert not is_not_a_request(text, butler_speaking=False)
