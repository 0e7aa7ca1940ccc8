"""nodelib.data: reading IDX files, finding data sets on disk, clear errors without network."""

import gzip

import numpy as np
import pytest

from nodelib import config, data


def _idx_bytes(array) -> bytes:
    """``array`` (uint8) in IDX format: magic 0x0000_08_ndim, big-endian sizes, then the values."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + np.asarray(array).astype(np.uint8).tobytes()


def _write_idx(path, array):
    """Write ``array`` (uint8) as a gzipped IDX file."""
    with gzip.open(path, "wb") as f:
        f.write(_idx_bytes(array))


def write_fake_dataset(root, folder="FashionMNIST", train=48, test=16, seed=0):
    """A tiny data set of random images in torchvision's layout ``root/<folder>/raw/``.

    Returns the raw folder. Labels cycle through 0..9, so every class appears.
    """
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in (("train", train), ("test", test)):
        images_name, labels_name = data._FILES[split]
        _write_idx(raw / images_name, rng.integers(0, 256, size=(n, 28, 28)))
        _write_idx(raw / labels_name, np.arange(n) % 10)
    return raw


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """A tiny MNIST in torchvision's layout under a temporary NODELIB_DATA_DIR."""
    write_fake_dataset(tmp_path, folder="MNIST", train=6, test=4)
    monkeypatch.setattr(config, "DATA_DIR", tmp_path)
    return tmp_path


def test_read_idx_returns_the_written_array(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a.gz"), array)


def test_read_idx_rejects_a_truncated_file(tmp_path):
    path = tmp_path / "short.gz"
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + bytes(3))
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(path)


def test_read_idx_names_a_file_that_is_not_gzip(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(_idx_bytes(np.zeros((2, 28, 28))))  # IDX, but not compressed
    with pytest.raises(data.DataFileError, match="train-images-idx3-ubyte.gz is not a valid gzip"):
        data.read_idx(path)


def test_read_idx_names_a_file_whose_gzip_stream_is_cut_short(tmp_path):
    path = tmp_path / "labels.gz"
    _write_idx(path, np.arange(1000) % 10)
    path.write_bytes(path.read_bytes()[:-20])  # an interrupted download
    with pytest.raises(data.DataFileError, match="labels.gz is truncated: its gzip stream ends"):
        data.read_idx(path)


@pytest.mark.parametrize(
    "magic", [bytes([8, 0, 0, 3]), bytes([0, 0, 0x0D, 1]), bytes([0, 0, 8, 0])]
)
def test_read_idx_rejects_a_wrong_magic_number(tmp_path, magic):
    path = tmp_path / "odd.gz"
    with gzip.open(path, "wb") as f:
        f.write(magic + (4).to_bytes(4, "big") + bytes(4))
    with pytest.raises(data.DataFileError, match=rf"odd.gz is not an IDX file .*{magic.hex()}"):
        data.read_idx(path)


def test_read_idx_rejects_bytes_after_the_announced_values(tmp_path):
    path = tmp_path / "long.gz"
    with gzip.open(path, "wb") as f:
        f.write(_idx_bytes(np.arange(5)) + bytes(3))
    with pytest.raises(data.DataFileError, match="long.gz is corrupt: .* 3 more bytes"):
        data.read_idx(path)


def test_images_and_labels_of_different_counts_are_refused_naming_both_files(fake_mnist):
    raw = fake_mnist / "MNIST" / "raw"
    _write_idx(raw / "train-labels-idx1-ubyte.gz", np.arange(5) % 10)
    with pytest.raises(data.DataFileError, match="holds 6 images but .*train-labels.* 5 labels"):
        data.load_images("mnist", "train")


def test_labels_outside_the_classes_are_refused_naming_the_file(fake_mnist):
    raw = fake_mnist / "MNIST" / "raw"
    _write_idx(raw / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 12, 3]))
    with pytest.raises(
        data.DataFileError, match=r"t10k-labels-idx1-ubyte.gz has 1 labels outside 0..9"
    ):
        data.load_images("mnist", "test")


def test_images_of_another_size_are_refused_naming_the_file(fake_mnist):
    raw = fake_mnist / "MNIST" / "raw"
    _write_idx(raw / "t10k-images-idx3-ubyte.gz", np.zeros((4, 32, 32)))
    with pytest.raises(data.DataFileError, match=r"t10k-images-idx3-ubyte.gz .*\(4, 32, 32\)"):
        data.load_images("mnist", "test")


def test_a_swapped_labels_file_is_refused(fake_mnist):
    raw = fake_mnist / "MNIST" / "raw"
    labels = raw / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes((raw / "t10k-images-idx3-ubyte.gz").read_bytes())
    with pytest.raises(data.DataFileError, match="t10k-labels-idx1-ubyte.gz holds an array of"):
        data.load_images("mnist", "test")


def test_load_images_from_the_data_dir_has_the_documented_format(fake_mnist):
    images = data.load_images("mnist", "train")
    assert images.images.shape == (6, 1, 28, 28)
    assert images.images.dtype.is_floating_point
    assert 0.0 <= images.images.min() and images.images.max() <= 1.0
    assert images.labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert images.name == "mnist" and images.classes[3] == "3"


def test_load_images_limit_keeps_the_first_images(fake_mnist):
    assert len(data.load_images("mnist", "test", limit=2)) == 2


def test_load_images_uses_config_dataset_when_name_is_none(fake_mnist, monkeypatch):
    monkeypatch.setattr(config, "DATASET", "mnist")
    assert data.load_images(split="test").name == "mnist"


def test_load_images_rejects_unknown_split():
    with pytest.raises(ValueError, match="split must be one of"):
        data.load_images("mnist", "validation")


def test_load_images_rejects_non_positive_limit():
    with pytest.raises(ValueError, match="limit must be a positive int"):
        data.load_images("mnist", limit=0)


def test_unknown_dataset_name_lists_the_choices():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        data.resolve_name("cifar")


def test_missing_dataset_without_network_fails_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "DATA_DIR", tmp_path)
    monkeypatch.setattr(data, "_can_reach", lambda url, timeout=0: False)
    with pytest.raises(data.DatasetUnavailableError, match="Put the four files"):
        data.load_images("mnist", "test")


def test_auto_falls_back_to_fashion_mnist_without_mnist(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "DATA_DIR", tmp_path)
    monkeypatch.setattr(data, "_can_reach", lambda url, timeout=0: False)
    assert data.resolve_name("auto") == "fashion-mnist"


def test_can_reach_returns_false_quickly_for_an_unroutable_host():
    assert data._can_reach("http://192.0.2.1:81/", timeout=0.5) is False


@pytest.mark.skipif(not data.available("fashion-mnist"), reason="Fashion-MNIST not installed")
def test_fashion_mnist_from_the_system_package_has_60000_training_images():
    train = data.load_images("fashion-mnist", "train")
    assert len(train) == 60_000
    assert train.classes[0] == "T-shirt/top"
