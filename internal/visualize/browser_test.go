package visualize

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromium finds a headless-capable Chromium. In CI (CI set) a missing
// browser fails the test; elsewhere it is skipped loudly.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "NO CHROMIUM: the report's browser test did not run (apt-get install chromium)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("!!! " + msg + " !!!")
	return ""
}

func runChromium(t *testing.T, browser string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=5000"}
	cmd := exec.CommandContext(ctx, browser, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v\nstderr:\n%s", browser, args, err, stderr.String())
	}
	return out
}

var (
	checkedAttr = regexp.MustCompile(`data-checked="yes"`)
	brokenAttr  = regexp.MustCompile(`data-broken="([^"]*)"`)
	imagesAttr  = regexp.MustCompile(`data-images="(\d+)"`)
)

// openReport writes the fixed report into a directory, loads it in
// headless Chromium and returns what the page's own check found: the
// number of images and the broken ones.
func openReport(t *testing.T, browser string, missing ...string) (dir, images, broken string) {
	t.Helper()
	dir = t.TempDir()
	html, err := fixedReport(t, dir, missing...).Render()
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, ReportFile)
	if err := os.WriteFile(page, html, 0o644); err != nil {
		t.Fatal(err)
	}
	dom := runChromium(t, browser, "--dump-dom", "file://"+page)
	if !checkedAttr.Match(dom) {
		t.Fatalf("the page's image check did not run; DOM starts:\n%.2000s", dom)
	}
	b, n := brokenAttr.FindSubmatch(dom), imagesAttr.FindSubmatch(dom)
	if b == nil || n == nil {
		t.Fatalf("no data-broken/data-images marker in the DOM")
	}
	return dir, string(n[1]), string(b[1])
}

func TestReportInBrowser(t *testing.T) {
	browser := chromium(t)
	dir, images, broken := openReport(t, browser)
	if images != strconv.Itoa(fixedImages) || broken != "" {
		t.Errorf("browser saw %s images, broken %q; want %d images, none broken", images, broken, fixedImages)
	}
	// A screenshot of the rendered page, kept for a person to look at
	// when ICNNLAB_SCREENSHOT_DIR is set.
	shot := filepath.Join(dir, "screenshot.png")
	runChromium(t, browser, "--screenshot="+shot, "--window-size=1200,1600", "--hide-scrollbars", "file://"+filepath.Join(dir, ReportFile))
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 600 {
		t.Errorf("screenshot is %v", b)
	}
	if keep := os.Getenv("ICNNLAB_SCREENSHOT_DIR"); keep != "" {
		data, _ := os.ReadFile(shot)
		if err := os.WriteFile(filepath.Join(keep, "report-screenshot.png"), data, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// The check must catch a missing image, or it proves nothing.
func TestReportInBrowserCatchesBrokenImage(t *testing.T) {
	browser := chromium(t)
	missing := "interp/upconv/filter-007.png"
	_, images, broken := openReport(t, browser, missing)
	if images != strconv.Itoa(fixedImages) || strings.TrimSpace(broken) != missing {
		t.Errorf("browser saw %s images, broken %q; want %d with %q broken", images, broken, fixedImages, missing)
	}
}
