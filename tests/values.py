"""Strategies for plain values that several test modules share."""

from __future__ import annotations

from hypothesis import strategies as st

from casework_flow._frozen import MAX_SAFE_INT

texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
"""Text a store can keep: no lone surrogate, no NUL."""

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INT, MAX_SAFE_INT)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)
"""Any JSON data, as case data may hold."""

bad_texts = st.one_of(
    st.builds(lambda a, b: a + "\x00" + b, texts, texts),
    st.builds(lambda a, s, b: a + s + b, texts, st.characters(categories=("Cs",)), texts),
)
"""Text no store can keep: a NUL character or a lone surrogate somewhere in it."""

bad_ints = st.one_of(
    st.integers(min_value=MAX_SAFE_INT + 1), st.integers(max_value=-MAX_SAFE_INT - 1)
)
"""Integers JSON readers cannot all keep exactly."""
