"""Option checks of the backup, regions and corruption workloads (workloads._base.check_ranges):
each bad value is refused naming workload and option; good ones are taken."""

import math

import pytest

from workloads.backup import BackupWorkload
from workloads.corruption import CorruptionWorkload
from workloads.regions import RegionsWorkload


@pytest.mark.parametrize("make, message", [
    (lambda: BackupWorkload(chunk_size=0), "backup workload: chunk_size must be an integer"),
    (lambda: BackupWorkload(incrementals=True), "backup workload: incrementals must be an integer"),
    (lambda: BackupWorkload(window_s=math.nan), "backup workload: window_s must be a number"),
    (lambda: BackupWorkload(interval_s="1"), "backup workload: interval_s must be a number"),
    (lambda: RegionsWorkload(sample_s=2), "regions workload: sample_s must be a number in [0.05, 1]"),
    (lambda: RegionsWorkload(load_bytes=1.5), "regions workload: load_bytes must be an integer"),
    (lambda: CorruptionWorkload(backups=1), "corruption workload: backups must be an integer from 2"),
    (lambda: CorruptionWorkload(settle_s=math.inf), "corruption workload: settle_s must be a number"),
])
def test_out_of_range_options_are_refused_by_name(make, message):
    with pytest.raises(ValueError) as e:
        make()
    assert str(e.value).startswith(message)


def test_options_within_range_are_taken():
    assert BackupWorkload(chunk_size=1, window_s=0.2, interval_s=3600).chunk_size == 1
    assert RegionsWorkload(sample_s=1.0, settle_s=1).sample_s == 1.0
    assert CorruptionWorkload(backups=2, settle_s=3600).backups == 2
