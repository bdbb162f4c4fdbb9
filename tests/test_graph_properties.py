"""Property tests for graph building: U' is non-negative, zero off the diagonal where U is
zero, and rows sum to 1 (or to p for a node without neighbours, Eq. 4 as written)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nrdh.graph import binarize, build_adjacency, similarity

features = st.integers(2, 8).flatmap(
    lambda m: arrays(
        np.float32, (1, m, 3), elements=st.floats(-10, 10, width=32, allow_subnormal=False)
    )
)


@settings(max_examples=200, deadline=None)
@given(
    x=features,
    rho=st.floats(-0.9, 0.9),
    p=st.floats(0.0, 1.0),
    isolated=st.sampled_from(["p", "one"]),
)
def test_reweighted_matrix_properties(x, rho, p, isolated):
    x64 = x.astype(np.float64)
    a = build_adjacency(x64, rho=rho, p=p, isolated_weight=isolated)[0]
    u = binarize(similarity(x64, "cosine"), rho)[0]
    off = ~np.eye(a.shape[0], dtype=bool)
    assert (a >= 0).all()
    assert (a[off & (u == 0)] == 0).all()
    has_neighbour = (u * off).sum(1) > 0
    expected = np.where(has_neighbour, 1.0, p if isolated == "p" else 1.0)
    np.testing.assert_allclose(a.sum(1), expected, rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(np.diagonal(a)[has_neighbour], p)
