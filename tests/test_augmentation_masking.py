"""BERT-style masking of titles and templates with a practitioner's own terms (chapter 4, "Data Augmentation")."""
import numpy as np
import pytest

from dmls.augmentation import MASK, mask_tokens, template_titles
from dmls.world.catalog import PROHIBITED_TERMS

TITLES = [f"brand{i} classic lamp in blue number {i}" for i in range(2_000)]


def test_masking_chooses_the_rate_of_tokens_and_mostly_masks_them():
    out = mask_tokens(TITLES, np.random.default_rng(0), rate=0.15)
    assert len(out) == len(TITLES)
    pairs = [(a, b) for t, m in zip(TITLES, out) for a, b in zip(t.split(), m.split())]
    assert all(len(t.split()) == len(m.split()) for t, m in zip(TITLES, out))
    masked = np.mean([b == MASK for _, b in pairs])
    changed = np.mean([a != b for a, b in pairs])
    assert masked == pytest.approx(0.15 * 0.8, abs=0.01)
    # A random replacement is sometimes the same word, so changed words are a little under 90 % of 15 %.
    assert 0.15 * 0.8 < changed < 0.15 * 0.9 + 0.01


def test_masking_is_seeded_and_rate_zero_changes_nothing():
    assert mask_tokens(TITLES[:50], np.random.default_rng(3)) == mask_tokens(TITLES[:50], np.random.default_rng(3))
    assert mask_tokens(TITLES[:50], np.random.default_rng(3), rate=0.0) == TITLES[:50]
    assert set(" ".join(mask_tokens(TITLES[:50], np.random.default_rng(3), rate=1.0, vocabulary=["x"])).split()) \
        <= {MASK, "x"} | set(" ".join(TITLES[:50]).split())


def test_templates_keep_their_old_output_by_default_and_use_given_terms():
    old = template_titles(40, np.random.default_rng(5), prohibited=True)
    assert template_titles(40, np.random.default_rng(5), prohibited=True, terms=None) == old
    assert all(any(term in t for term in PROHIBITED_TERMS) for t in old)
    mine = template_titles(40, np.random.default_rng(5), prohibited=True, terms=["dupe", "imitation"])
    assert all(("dupe" in t) or ("imitation" in t) for t in mine)
    assert not any(term in t for t in mine for term in ("counterfeit", "knockoff", "1:1 copy"))


@pytest.mark.parametrize("call, error, message", [
    (lambda: mask_tokens("one title", np.random.default_rng(0)), TypeError, "texts must be a list of strings"),
    (lambda: mask_tokens([1, 2], np.random.default_rng(0)), TypeError, "texts must hold strings"),
    (lambda: mask_tokens([], np.random.default_rng(0)), ValueError, "texts is empty"),
    (lambda: mask_tokens(["a b"], 0), TypeError, "rng must be a numpy Generator"),
    (lambda: mask_tokens(["a b"], np.random.default_rng(0), rate=1.5), ValueError, "rate must be <= 1"),
    (lambda: mask_tokens(["a b"], np.random.default_rng(0), rate=float("nan")), ValueError, "rate must be a finite"),
    (lambda: mask_tokens(["a b"], np.random.default_rng(0), mask=""), TypeError, "mask must be a non-empty string"),
    (lambda: mask_tokens(["a b"], np.random.default_rng(0), vocabulary=[]), ValueError, "vocabulary is empty"),
    (lambda: template_titles(3, np.random.default_rng(0), True, terms="fake"), TypeError, "terms must be a list"),
    (lambda: template_titles(3, np.random.default_rng(0), True, terms=[]), ValueError, "terms is empty"),
    (lambda: template_titles(3, np.random.default_rng(0), True, terms=[3]), TypeError, "terms must hold strings"),
])
def test_bad_input_is_refused(call, error, message):
    with pytest.raises(error, match=message):
        call()
