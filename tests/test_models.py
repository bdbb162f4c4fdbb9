"""GCN layer and autoencoder shapes and values; the hash network's head."""

import torch

from nrdh.models import GCNAutoencoder, GraphConv, HashNet, SmallCNN


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
