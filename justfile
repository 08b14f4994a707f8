# Developer recipes. `just ci` is what CI runs (.ci/run adds the installs).

# Where cargo builds (CARGO_TARGET_DIR, else target/)
target := env_var_or_default("CARGO_TARGET_DIR", "target")

default:
    @just --list

# The demo: check the sample fleet against its sample world
demo:
    cargo run --release -- check --hosts hosts --world world-fixtures/sample/world --now 2026-11-23T12:00:00Z

# Release binary, shell completions, man page and services.yaml schema into target/dist/
dist:
    cargo build --release
    rm -rf {{target}}/dist
    mkdir -p {{target}}/dist/completions
    cp {{target}}/release/supervisorctl {{target}}/dist/
    {{target}}/release/supervisorctl completions bash --dynamic > {{target}}/dist/completions/supervisorctl.bash
    {{target}}/release/supervisorctl completions zsh --dynamic > {{target}}/dist/completions/_supervisorctl
    {{target}}/release/supervisorctl completions fish --dynamic > {{target}}/dist/completions/supervisorctl.fish
    {{target}}/release/supervisorctl man > {{target}}/dist/supervisorctl.1
    {{target}}/release/supervisorctl schema > {{target}}/dist/services.schema.json
    @ls -l {{target}}/dist {{target}}/dist/completions

# The Debian package (cargo-deb; `cargo install cargo-deb --locked` once):
# target/debian/supervisorctl_<version>_<arch>.deb, see docs/packaging.md
deb: dist
    rm -rf {{target}}/dist/deb
    mkdir -p {{target}}/dist/deb/systemd
    for f in systemd/*.service systemd/*.timer; do sed 's#/usr/local/bin/supervisorctl#/usr/bin/supervisorctl#g' "$f" > {{target}}/dist/deb/systemd/"$(basename "$f")"; done
    gzip -9n < {{target}}/dist/supervisorctl.1 > {{target}}/dist/deb/supervisorctl.1.gz
    cargo deb --no-build --strip
    @ls -l {{target}}/debian/*.deb

# Run the whole test suite
test:
    cargo test

# fmt, clippy, stubs, tests: what CI runs
ci:
    bash .ci/run

fmt:
    cargo fmt --all

# clippy's pedantic group included: Cargo.toml's [lints.clippy] (issue 20)
lint:
    cargo clippy --all-targets -- -D warnings

# Rewrite the whole-output snapshots after an intended change; review
# `git diff tests/it/snapshots/cases/` before committing (docs/testing.md)
snapshots:
    INSTA_UPDATE=always cargo test --test it snapshots

# The report's screenshot in docs/ (docs/report.png), from the fixture fleet
# of tests/it/report.rs, taken by headless chromium
screenshots:
    SUPERVISORCTL_SCREENSHOTS="$(pwd)/docs" cargo test --test it report_of_a_fleet_through_five_incidents

# Regenerate nothing silently: print actual events of failing fixture cases
fixtures-diff:
    UPDATE_EXPECT=1 cargo test --test it fixtures -- --nocapture

# Benchmark: check on generated fleets vs the read-and-parse floor (see docs/performance.md)
bench:
    cargo build --release --example bench
    cargo run --release --example bench

# A world of 40,000 incidents on one node: what a run costs
bench-incidents:
    cargo build --release
    cargo run --release --example bench -- incidents

# What the activity probes (SPEC §13) cost per service: connections and metrics
bench-activity:
    cargo run --release --example bench -- activity

# Quicker benchmark without the 2,000-node fleet
bench-quick:
    cargo build --release --example bench
    cargo run --release --example bench -- --quick

# Crash consistency, long: 1,500 SIGKILLs at random moments (release build)
crash:
    cargo test --release --test it sigkill_at_random_moments_long -- --ignored --nocapture
    cargo test --release --test it every_restart_that_ran_is_counted_long -- --ignored --nocapture

# Fuzz both parsers for a minute each (needs nightly and `cargo install cargo-fuzz`)
fuzz seconds="60":
    cd fuzz && cargo +nightly fuzz run config -- -max_total_time={{seconds}} -timeout=10
    cd fuzz && cargo +nightly fuzz run world_record -- -max_total_time={{seconds}} -timeout=10

# Time to recovery after `kill -9`: `supervisorctl watch` against supervisord
# (installed into target/mttr-venv from PyPI), same http.server service
bench-mttr kills="5":
    cargo build --release
    test -x target/mttr-venv/bin/supervisord || (python3 -m venv target/mttr-venv && target/mttr-venv/bin/pip install -q supervisor)
    python3 examples/mttr/mttr.py target/release/supervisorctl target/mttr-venv/bin/supervisord {{kills}}
