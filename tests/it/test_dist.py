"""Every integration test file is named in Makefile.am's EXTRA_DIST, so the
release tarball (and `make distcheck`) runs the same tests as the tree."""

import glob
import os
import re

import harness


def test_every_it_file_is_distributed():
    src = harness.srcdir()
    with open(os.path.join(src, "Makefile.am"), encoding="utf-8") as f:
        makefile = f.read().replace("\\\n", " ")
    listed = set()
    for line in makefile.splitlines():
        m = re.match(r"\s*EXTRA_DIST\s*\+?=\s*(.*)", line)
        if m:
            listed.update(m.group(1).split())
    here = os.path.join(src, "tests", "it")
    files = [os.path.relpath(p, src)
             for p in glob.glob(os.path.join(here, "*.py")) +
             glob.glob(os.path.join(here, "*.sh"))]
    assert files, "no integration test files found"
    missing = sorted(p for p in files if p not in listed)
    assert not missing, f"not in EXTRA_DIST of Makefile.am: {missing}"
