package plugin

import (
	"fmt"
	"regexp"
)

// semverPattern is semver.org's MAJOR.MINOR.PATCH with optional
// pre-release and build metadata, without a leading "v".
var semverPattern = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// CheckSemver reports whether v is a semantic version such as "1.4.0".
func CheckSemver(v string) error {
	if !semverPattern.MatchString(v) {
		return fmt.Errorf("version %q is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)", v)
	}
	return nil
}
