import json
import os
import subprocess
import sys

import numpy as np
import pytest

from course_lib import distribute

TOLERANCE = 1e-6  # on weights of order 0.1-1: only the order of float32 additions differs


def test_two_workers_on_localhost_train_to_the_single_device_result():
    single = distribute.train_data_parallel()
    runs = distribute.run_workers(2, timeout=150)
    assert [run.replicas for run in runs] == [2, 2]
    for run in runs:
        assert np.abs(run.weights - single.weights).max() < TOLERANCE
        np.testing.assert_allclose(run.losses, single.losses, atol=TOLERANCE)
    assert single.losses[-1] < 0.5 * single.losses[0]  # it did learn


def test_mirrored_strategy_on_two_logical_cpus_equals_one_device():
    # logical devices are fixed once TensorFlow starts, so this runs in a fresh process
    script = (
        "import json, numpy as np, tensorflow as tf\n"
        "from course_lib import distribute\n"
        "devices = distribute.split_cpu(2)\n"
        "single = distribute.train_data_parallel()\n"
        "mirrored = distribute.train_data_parallel(tf.distribute.MirroredStrategy(devices))\n"
        "print(json.dumps({'replicas': mirrored.replicas,"
        " 'weights': float(np.abs(mirrored.weights - single.weights).max()),"
        " 'losses': float(np.abs(mirrored.losses - single.losses).max())}))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode == 0, result.stderr[-2000:]
    gaps = json.loads(result.stdout.strip().splitlines()[-1])
    assert gaps["replicas"] == 2
    assert gaps["weights"] < TOLERANCE and gaps["losses"] < TOLERANCE, gaps


def test_split_cpu_after_tensorflow_started_says_to_restart():
    import tensorflow as tf

    tf.constant(1.0)  # devices exist now
    with pytest.raises(RuntimeError, match="restart the kernel"):
        distribute.split_cpu(3)


def test_workers_that_run_too_long_are_all_stopped():
    with pytest.raises(TimeoutError, match="all were stopped"):
        distribute.run_workers(2, timeout=0.5)


def test_cluster_config_is_one_cluster_with_one_task_each():
    configs = [distribute.cluster_config([5001, 5002], i) for i in range(2)]
    assert configs[0]["cluster"] == configs[1]["cluster"]
    assert [c["task"]["index"] for c in configs] == [0, 1]
    assert len(set(distribute.free_ports(3))) == 3

