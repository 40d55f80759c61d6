"""Every integration test file is named in Makefile.am's IT_TESTS, so make
check runs it as its own test and the release tarball (EXTRA_DIST holds
$(IT_TESTS), and `make distcheck` runs them) carries the same tests as the
tree."""

import glob
import os
import re

import harness


def makefile_list(makefile, var):
    listed = set()
    for line in makefile.splitlines():
        m = re.match(r"\s*" + var + r"\s*\+?=\s*(.*)", line)
        if m:
            listed.update(m.group(1).split())
    return listed


def test_every_it_file_is_distributed():
    src = harness.srcdir()
    with open(os.path.join(src, "Makefile.am"), encoding="utf-8") as f:
        makefile = f.read().replace("\\\n", " ")
    tests = makefile_list(makefile, "IT_TESTS")
    listed = makefile_list(makefile, "EXTRA_DIST")
    assert "$(IT_TESTS)" in listed, "EXTRA_DIST does not hold $(IT_TESTS)"
    listed |= tests
    here = os.path.join(src, "tests", "it")
    files = [os.path.relpath(p, src)
             for p in glob.glob(os.path.join(here, "*.py")) +
             glob.glob(os.path.join(here, "*.sh"))]
    assert files, "no integration test files found"
    missing = sorted(p for p in files if p not in listed)
    assert not missing, f"not in EXTRA_DIST of Makefile.am: {missing}"


def test_every_it_test_file_is_its_own_make_check_test():
    src = harness.srcdir()
    with open(os.path.join(src, "Makefile.am"), encoding="utf-8") as f:
        makefile = f.read().replace("\\\n", " ")
    tests = makefile_list(makefile, "IT_TESTS")
    here = os.path.join(src, "tests", "it")
    files = [os.path.relpath(p, src)
             for p in glob.glob(os.path.join(here, "test_*.py"))]
    missing = sorted(p for p in files if p not in tests)
    assert not missing, f"not in IT_TESTS of Makefile.am: {missing}"
