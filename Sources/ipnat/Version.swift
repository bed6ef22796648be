/// What `ipnat --version` prints: the release, and the commit it was built from when
/// `.ci/package` built it from a git checkout.
enum Version {
  static let release = "0.2.0"
  /// Stamped by `.ci/package` into the build it packages; nil in any other build.
  static let commit: String? = nil

  static var text: String { release + (commit.map { " (git \($0))" } ?? "") }
}
