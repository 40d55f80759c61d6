"""The flags in tiny-cached(8), `tiny-cached --help` and src/config.c's
option table agree: every option the daemon accepts is documented with its
variable, default and range, the man page documents no option the daemon
lacks, and mandoc finds nothing above style level."""

import functools
import os
import re
import shutil
import subprocess

import pytest

import harness

# README, Configuration: every variable the daemon must know.
DOCUMENTED_VARIABLES = {
    "CACHE_MAX_ITEMS", "CACHE_MAX_MEMORY_MB", "CACHE_MAX_VALUE_BYTES",
    "CACHE_CLEANUP_INTERVAL", "CACHE_HOST", "CACHE_PORT", "CACHE_HEALTH_HOST",
    "CACHE_HEALTH_PORT", "CACHE_LOG_LEVEL", "CACHE_LOG_FORMAT",
    "CACHE_TLS_ENABLED", "CACHE_TLS_CERT_PATH", "CACHE_TLS_KEY_PATH",
    "CACHE_TLS_REQUIRE_CLIENT_AUTH", "CACHE_TLS_CLIENT_CA_PATH",
    "CACHE_WORKERS", "CACHE_SHARDS", "CACHE_SHUTDOWN_DELAY",
    "CACHE_SHUTDOWN_GRACE", "CACHE_MAX_BATCH", "CACHE_SNAPSHOT_PATH",
    "CACHE_SNAPSHOT_INTERVAL", "CACHE_IDLE_TIMEOUT",
}
# The state directory the unit's StateDirectory= creates; the test points
# the environment file's paths under it at a folder of its own.
STATE_DIR = "/var/lib/tiny-cached"
# Options without a variable.
COMMAND_FLAGS = {"--help", "--version"}

# "  --max-items=N  (CACHE_MAX_ITEMS)" then indented lines with the help,
# the range "1..2147483647" and "default: 1000".
HELP_OPTION = re.compile(
    r"^  (--[a-z][a-z0-9-]*)=\S+\s+\((CACHE_[A-Z0-9_]+)\)\n"
    r"((?:    .*\n?)*)", re.M)
HELP_RANGE = re.compile(r"(\d+)\.\.(\d+)")
HELP_DEFAULT = re.compile(r"default: (\S+?)[.,;]?$", re.M)
# A row of config_options: "--flag", "CACHE_VARIABLE", ...
TABLE_ROW = re.compile(r'"(--[a-z0-9-]+)",\s*"(CACHE_[A-Z0-9_]+)"')


def man_path():
    return os.path.join(harness.srcdir(), "man", "tiny-cached.8")


def man_source():
    with open(man_path()) as f:
        return f.read()


@functools.lru_cache(maxsize=None)
def help_text():
    out = subprocess.run([harness.daemon_path(), "--help"],
                         env=harness.base_env(), capture_output=True,
                         timeout=10)
    assert out.returncode == 0, out.stderr
    return out.stdout.decode()


def help_options():
    """{flag: (variable, range tuple or None, default or None)}."""
    opts = {}
    for m in HELP_OPTION.finditer(help_text()):
        rng = HELP_RANGE.search(m.group(3))
        dflt = HELP_DEFAULT.search(m.group(3))
        opts[m.group(1)] = (m.group(2), rng.groups() if rng else None,
                            dflt.group(1) if dflt else None)
    return opts


def help_flags():
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", help_text()))


def table_options():
    """{flag: variable} from the option table in src/config.c."""
    with open(os.path.join(harness.srcdir(), "src", "config.c")) as f:
        return dict(TABLE_ROW.findall(f.read()))


def man_section(src, name):
    m = re.search(r"^\.Sh %s\n(.*?)(?=^\.Sh )" % re.escape(name), src,
                  re.M | re.S)
    assert m, "tiny-cached(8) has no section %s" % name
    return m.group(1)


def man_option_paragraphs():
    """{flag: plain text of its .It paragraph} from OPTIONS."""
    paras = {}
    items = re.split(r"^\.It ", man_section(man_source(), "OPTIONS"),
                     flags=re.M)[1:]
    for item in items:
        head, _, body = item.partition("\n")
        for flag in re.findall(r"\\-([a-z][a-z0-9-]*)", head):
            paras["--" + flag] = plain(body)
    return paras


def plain(mdoc):
    """mdoc source as words: macros dropped, lines joined."""
    words = []
    for line in mdoc.splitlines():
        toks = line.split()
        if toks and toks[0].startswith("."):
            toks = [t for t in toks[1:] if not re.fullmatch(r"[A-Z][a-z]", t)]
        words.extend(toks)
    return re.sub(r" ([.,;])", r"\1", " ".join(words))


def man_flags():
    return {"--" + f for f in re.findall(r"Fl \\-([a-z][a-z0-9-]*)",
                                         man_source())}


def test_spec_variables_are_all_accepted():
    variables = {v for v, _, _ in help_options().values()}
    assert DOCUMENTED_VARIABLES <= variables, DOCUMENTED_VARIABLES - variables


def test_help_lists_every_option_of_the_table():
    table = table_options()
    assert table, "no OPT rows found in src/config.c"
    opts = help_options()
    assert {f: v for f, (v, _, _) in opts.items()} == table
    assert COMMAND_FLAGS <= help_flags()


def test_every_option_is_in_the_man_page_with_its_variable():
    paras = man_option_paragraphs()
    synopsis = man_section(man_source(), "SYNOPSIS")
    for flag, (var, _, _) in help_options().items():
        assert flag in paras, "%s missing from OPTIONS" % flag
        assert var in paras[flag], "%s: %s not named" % (flag, var)
        assert "Fl \\" + flag[1:] in synopsis, "%s not in SYNOPSIS" % flag
    for flag in COMMAND_FLAGS:
        assert flag in paras, "%s missing from OPTIONS" % flag


def test_man_page_documents_no_unknown_option():
    unknown = man_flags() - help_flags()
    assert not unknown, "documented but not accepted: %s" % sorted(unknown)


def test_man_page_defaults_and_ranges_match_help():
    paras = man_option_paragraphs()
    for flag, (_, rng, dflt) in help_options().items():
        text = paras[flag]
        if rng:
            assert "range %s to %s" % rng in text.lower(), (flag, text)
        if dflt in (None, "unset"):
            assert "Default:" in text, (flag, text)
        else:
            assert re.search(r"Default %s(?=[\s.,;]|$)" % re.escape(dflt),
                             text), \
                (flag, dflt, text)


def test_man_page_variables_are_known():
    known = {v for v, _, _ in help_options().values()}
    documented = set(re.findall(r"\bCACHE_[A-Z0-9_]+", man_source()))
    assert documented <= known, documented - known


def test_environment_file_names_only_known_variables():
    known = {v for v, _, _ in help_options().values()}
    path = os.path.join(harness.srcdir(), "contrib", "default", "tiny-cached")
    with open(path) as f:
        named = set(re.findall(r"^#?(CACHE_[A-Z0-9_]+)=", f.read(), re.M))
    assert named == known, (named ^ known)


def test_environment_file_settings_start_the_daemon(tmp_path):
    path = os.path.join(harness.srcdir(), "contrib", "default", "tiny-cached")
    env = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^(CACHE_[A-Z0-9_]+)=(.*)$", line.rstrip("\n"))
            if m:
                env[m.group(1)] = m.group(2).replace(STATE_DIR,
                                                     str(tmp_path))
    assert env, "the environment file sets nothing"
    with harness.Server(env=env) as s:
        assert s.stop() == 0


def test_version_prints_and_exits_zero():
    out = subprocess.run([harness.daemon_path(), "--version"],
                         env=harness.base_env(), capture_output=True,
                         timeout=10)
    assert out.returncode == 0
    assert re.search(r"\d+\.\d+\.\d+", out.stdout.decode())


def test_man_page_is_lint_clean():
    mandoc = shutil.which("mandoc")
    if mandoc is None:
        pytest.skip("mandoc not installed (apt-get install mandoc)")
    out = subprocess.run([mandoc, "-Tlint", "-Wwarning", man_path()],
                         capture_output=True, text=True)
    problems = [line for line in out.stderr.splitlines()
                if "outdated mandoc.db" not in line]
    assert out.returncode == 0 and not problems, out.stderr
