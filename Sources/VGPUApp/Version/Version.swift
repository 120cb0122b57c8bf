/// vgpuctl's version: the one string `vgpuctl --version` prints and the Debian package's version.
///
/// Bumped by hand in a release commit, which is then tagged `v<version>`. It is a constant in a source file (not
/// generated from `git describe` at build time) because SwiftPM has no build step that could write it without a
/// plugin, and a source tarball or a fresh checkout must build the same binary. `scripts/version.sh` prints it for
/// packaging and, with `--check`, fails when the checkout's `v*` tag says otherwise.
public enum VGPUVersion {
    public static let string = "0.4.0"
}
