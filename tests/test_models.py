"""GCN layer and autoencoder shapes and values; the hash network's head."""

import torch

from nrdh.models import FlatCNN, GCNAutoencoder, GraphConv, HashNet, SmallCNN


def test_graph_conv_by_hand():
    layer = GraphConv(2, 2, activation=True)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -2.0], [3.0, 4.0]]))
    a = torch.tensor([[[0.8, 0.2], [0.2, 0.8]]])
    x = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    # X W = [[1,-2],[3,4]]; U' X W = [[1.4, -0.8], [2.6, 2.8]]; ReLU clips -0.8
    torch.testing.assert_close(layer(x, a), torch.tensor([[[1.4, 0.0], [2.6, 2.8]]]))
    layer.activation = False
    torch.testing.assert_close(layer(x, a), torch.tensor([[[1.4, -0.8], [2.6, 2.8]]]))


def test_autoencoder_shapes_and_mirror():
    model = GCNAutoencoder(2048, 48)
    assert [tuple(w.shape) for w in model.weights()] == [
        (2048, 64),
        (64, 64),
        (64, 48),
        (48, 64),
        (64, 64),
        (64, 2048),
    ]
    assert [layer.activation for layer in model.encoder] == [True, True, False]
    assert [layer.activation for layer in model.decoder] == [True, True, False]
    x = torch.randn(5, 10, 2048)
    a = torch.eye(10).expand(5, -1, -1)
    h, x_hat = model(x, a)
    assert h.shape == (5, 10, 48) and x_hat.shape == (5, 10, 2048)


def test_graph_mixes_only_connected_nodes():
    model = GCNAutoencoder(4, 3, hidden=(5,))
    x = torch.randn(1, 3, 4)
    a = torch.tensor([[[0.8, 0.2, 0.0], [0.2, 0.8, 0.0], [0.0, 0.0, 1.0]]])
    h = model.encode(x, a)
    x2 = x.clone()
    x2[0, 0] += 1.0  # perturb node 0: node 2 (not connected) must not change
    h2 = model.encode(x2, a)
    torch.testing.assert_close(h[0, 2], h2[0, 2])
    assert not torch.allclose(h[0, 1], h2[0, 1])


def test_hash_net_table2_head():
    model = HashNet(SmallCNN(1), SmallCNN.out_dim, 32).eval()
    linear = [m for m in model.head if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(64, 256), (256, 64), (64, 32)]
    assert isinstance(model.head[-1], torch.nn.BatchNorm1d)
    fc, fch = model(torch.randn(4, 1, 8, 8))
    assert fc.shape == fch.shape == (4, 32)
    torch.testing.assert_close(fch, torch.tanh(fc))


def test_flat_cnn_keeps_where_the_strokes_are():
    net = FlatCNN(1).eval()
    for side in (8, 28, 32):
        assert net(torch.randn(2, 1, side, side)).shape == (2, FlatCNN.out_dim)
    # One stroke, and the same stroke 6 pixels (3 pooling cells) to the right, both far from
    # the borders: the small CNN's global average pool cannot tell them apart; the
    # flattened 4x4 map can.
    left = torch.zeros(1, 1, 28, 28)
    left[..., 10:18, 8:10] = 1.0
    right = left.roll(6, dims=-1)
    small = SmallCNN(1).eval()
    with torch.no_grad():
        torch.testing.assert_close(small(left), small(right))
        assert not torch.allclose(net(left), net(right), atol=1e-2)
