// Command generate writes the differential fixtures in this directory by running the Go code
// Flux itself runs: github.com/Masterminds/semver/v3 (ranges, version parsing and ordering),
// strconv.ParseFloat (numerical policy) and regexp.Expand (filterTags extract). The Rust tests
// in ../../tests/differential.rs replay them against tether's implementation.
//
// Regenerate, with a checkout of Masterminds/semver (the version Flux v2.9 pins) at $SEMVER:
//
//	cd crates/imagepolicy/testdata/differential
//	go mod init differential && go mod edit -require github.com/Masterminds/semver/v3@v3.5.0 \
//	  -replace github.com/Masterminds/semver/v3=$SEMVER
//	go run generate.go && rm go.mod
//
// and ranges-fluxd.tsv the same way with $SEMVER at v3.1.1 and `go run generate.go fluxd`.
package main

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Versions every range is checked against, in column order.
var versions = []string{
	"0.0.0", "0.0.3", "0.0.4", "0.1.0", "0.2.3", "0.2.9", "0.3.0", "1.0.0-alpha", "1.0.0",
	"1.1.9", "1.2.0-rc.1", "1.2.0", "1.2.2", "1.2.3-beta.2", "1.2.3-beta.10", "1.2.3",
	"1.2.3+build", "1.2.4", "1.2.9", "1.3.0", "1.9.9", "2.0.0-rc.1", "2.0.0", "2.1.0", "3.0.0",
	"10.0.0",
}

var operators = []string{"", "=", "!=", ">", "<", ">=", "<=", "~", "^"}

var bounds = []string{
	"1", "1.2", "1.2.3", "1.x", "1.2.x", "x", "*", "0", "0.0", "0.2", "0.0.3", "0.2.3",
	"1.2.3-beta.2", "1.2-rc", "v1.2.3", "2.x.x", "1.2.3+build", "1.x-alpha", "0.0.0",
}

var compound = []string{
	">=1.2, <2", ">=1.2 <2", ">1.1 <=1.2.3 || >=3", "1.2 - 1.3", "1.2.3 - 2", "1 - 2 || 10",
	"1.2.3 - 2.0.0-rc.1", "=>1.2", "=<1.2", "~>1.2", "~ 1.2", ">= 1.2 , < 2", ">=1.0.0-0 <2",
	">=1.0.0-alpha || >=2.0.0", ">=2.0.0 || >=1.0.0-alpha", "!=1.2.3, >=1.2", "1.1-3",
	"1.2.3 - 2 <=2.0.0", "<1.2.3-beta.10", ">1.2.3-beta.2", "^1.2.x-alpha", "!=1.2-rc",
	"*, !=1.2.3", "x || x", ">=1,<2,!=1.2.x", "^0.x", "~0.0.x", "<=0.x", ">0.0.x", "2.0.0-rc.1",
	"", " ", "foo", "1x", "x1", "-1", "1.2 ||", ">=1.0,,<2", "1 | 2", "1.2.3.4", "~ >1.2",
	"v1.2.3-beta.01", ">= bar", "12.3.34~ 1.2.3", "1.2.3 -", "1.2.3 - ", ">=1.2 <", "=v1.2",
	">=1.0.0-alpha, <2.0.0", "!=1.2.4", "!=1.2.x", "^0.0.3", "x-alpha", ">1.2<2", "1.2,1.3",
	">=1.0.0-alpha <1.2.3", "1.0.0 - 2.0.0 <=2.0.0", "1.2.3-beta.2 - 1.2.4",
}

var tags = []string{
	"1", "1.2", "1.2.3", "v1", "v1.2", "v1.2.3", "V1.2.3", "vv1.2.3", "01.2.3", "1.02.3",
	"1.2.03", "1.2.3.4", "1.2.3-", "1.2.3+", "1.2.3-rc.1", "1.2.3-rc.01", "1.2.3-rc1-x",
	"1.2.3+build.1", "1.2.3-rc+build-x", "1.2.3-rc..1", "1.2-rc.1", "1-rc", "v1.2.3-0abc",
	"1.2.3-be_ta", "latest", "", "v", "1.", ".1", "1..2", "18446744073709551615.0.0",
	"18446744073709551616.0.0", "1.2.3+meta+more", "1.2.3-a.b-c.d", "2024.01.05", "0.0.0",
	"v0.0.0-0",
}

var floats = []string{
	"0", "1", "-62", "+3", "1.5", ".5", "5.", "1e3", "1E-2", "1_000", "1_0.2_5", "0x1p-2",
	"0X1.8P1", "0x_1p0", "0x1.fffffffffffffp1023", "0x1p-1074", "0x1p-1075", "0x1.8p-1074",
	"0x123456789abcdef0123p0", "1606364286", "47.40896403322944", "1e-400", "1e308", "1e309",
	"inf", "+Inf", "-Infinity", "INFINITY", "NaN", "nan", "", "+", "-", ".", "1a", "b",
	"1.2.3", "1e", "1e+", "e5", ".e5", "1__0", "_1", "1_", "1_.5", "0x1", "0x", "0xp1",
	"0x1p", "+nan", "nan1", "infin", "infx", "latest", "v1", "1 ", " 1", "00012", "1e0_1",
	"1e_1", "0b101", "0o17", "0x1_p0", "0.000000000000000000000000000001", "4.9e-324",
	"2.2250738585072011e-308", "123456789012345678901234567890", "1.7976931348623157e308",
	"1.7976931348623159e308", "-0", "0x.8p1", "0x8.p-3", "1.e5", "1700000000",
}

var expandPattern = `^(?P<branch>[a-z]+)-(?P<sha>[a-f0-9]+)-(?P<ts>[0-9]+)(-(x))?`

var expandSubjects = []string{"main-abc1234-1700000000", "dev-ff-12-x", "xmain-1-2"}

var expandTemplates = []string{
	"$ts", "${ts}", "$1", "${1}", "$3", "${branch}.${ts}", "$branch.$ts", "$tsx", "$1x",
	"$01", "$4$5", "$99", "$$ts", "a$", "$-", "${ts", "${}", "plain", "$0", "${sha}-$ts-$5",
	"$ts$", "$$", "$$$ts", "${branch}x", "$_", "${1}0", "$10", "$000000001", "$123456789",
	"$1234567890",
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "fluxd" {
		// Run against Masterminds/semver v3.1.1, the release fluxd (Flux v1) vendored.
		must(write("ranges-fluxd.tsv", rangeRows()))
		return
	}
	must(write("ranges.tsv", rangeRows()))
	must(write("versions.tsv", versionRows()))
	must(write("compare.tsv", compareRows()))
	must(write("floats.tsv", floatRows()))
	must(write("expand.tsv", expandRows()))
}

func rangeRows() []string {
	rows := []string{"# range\tone of T/F per version: " + strings.Join(versions, " ") + " (E: range rejected)"}
	var ranges []string
	for _, op := range operators {
		for _, bound := range bounds {
			ranges = append(ranges, op+bound)
		}
	}
	for _, r := range append(ranges, compound...) {
		c, err := semver.NewConstraint(r)
		if err != nil {
			rows = append(rows, r+"\tE")
			continue
		}
		var flags strings.Builder
		for _, v := range versions {
			if c.Check(semver.MustParse(v)) {
				flags.WriteByte('T')
			} else {
				flags.WriteByte('F')
			}
		}
		rows = append(rows, r+"\t"+flags.String())
	}
	return rows
}

// fluxTag is what fluxcd/pkg/version.ParseVersion accepts: a strict version once one leading
// "v" is dropped, parsed as NewVersion to keep the original text.
func fluxTag(tag string) (*semver.Version, error) {
	if _, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v")); err != nil {
		return nil, err
	}
	return semver.NewVersion(tag)
}

func versionRows() []string {
	rows := []string{"# input\tNewVersion (lenient)\tStrictNewVersion\tFlux tag parse; canonical form or E"}
	for _, tag := range tags {
		lenient, errL := semver.NewVersion(tag)
		strict, errS := semver.StrictNewVersion(tag)
		flux, errF := fluxTag(tag)
		rows = append(rows, strings.Join([]string{
			tag, canonical(lenient, errL), canonical(strict, errS), canonical(flux, errF),
		}, "\t"))
	}
	return rows
}

func canonical(v *semver.Version, err error) string {
	if err != nil {
		return "E"
	}
	return v.String()
}

func compareRows() []string {
	rows := []string{"# a\tb\tCompare(a, b)"}
	for _, a := range versions {
		for _, b := range versions {
			rows = append(rows, fmt.Sprintf("%s\t%s\t%d", a, b, semver.MustParse(a).Compare(semver.MustParse(b))))
		}
	}
	return rows
}

func floatRows() []string {
	rows := []string{"# input\tstrconv.ParseFloat(input, 64) as IEEE bits in hex, NaN, or E"}
	for _, text := range floats {
		f, err := strconv.ParseFloat(text, 64)
		switch {
		case err != nil:
			rows = append(rows, text+"\tE")
		case math.IsNaN(f):
			rows = append(rows, text+"\tNaN")
		default:
			rows = append(rows, fmt.Sprintf("%s\t%016x", text, math.Float64bits(f)))
		}
	}
	return rows
}

func expandRows() []string {
	re := regexp.MustCompile(expandPattern)
	rows := []string{"# subject\ttemplate\tExpandString result (pattern " + expandPattern + ")"}
	for _, subject := range expandSubjects {
		match := re.FindStringSubmatchIndex(subject)
		if match == nil {
			continue
		}
		for _, template := range expandTemplates {
			out := string(re.ExpandString(nil, template, subject, match))
			rows = append(rows, subject+"\t"+template+"\t"+out)
		}
	}
	return rows
}

func write(name string, rows []string) error {
	return os.WriteFile(name, []byte(strings.Join(rows, "\n")+"\n"), 0o644)
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
