package pluginhost

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SumsFile is the checksum list in a plugin directory, in the format
// sha256sum prints: "<64 hex digits>  <file name>" per line ("*" before
// the name, binary mode, is accepted too).
const SumsFile = "SHA256SUMS"

// ReadSums parses dir's SHA256SUMS into file name → hash. Two lines for
// the same file are an error.
func ReadSums(dir string) (map[string][]byte, error) {
	path := filepath.Join(dir, SumsFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sums := map[string][]byte{}
	lineOf := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		hexSum, name, ok := strings.Cut(text, " ")
		sum, err := hex.DecodeString(hexSum)
		if !ok || err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("%s:%d: want \"<64 hex digits>  <file name>\" as sha256sum prints, got %q", path, line, text)
		}
		name = strings.TrimPrefix(strings.TrimPrefix(name, " "), "*")
		if name == "" {
			return nil, fmt.Errorf("%s:%d: no file name after the hash", path, line)
		}
		base := filepath.Base(name)
		if first, dup := lineOf[base]; dup {
			// A second line would otherwise silently win (or lose): after
			// a rebuild the line is replaced, never appended.
			return nil, fmt.Errorf("%s:%d: a second line for %s (the first is line %d); keep one: delete both and run: cd %s && sha256sum %s >> %s",
				path, line, base, first, dir, base, SumsFile)
		}
		sums[base], lineOf[base] = sum, line
	}
	return sums, sc.Err()
}

// FileSHA256 hashes a file.
func FileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("hash %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// ChecksumError explains why an external plugin binary was refused.
type ChecksumError struct {
	Binary   string
	SumsPath string
	Expected []byte // nil: no entry (or no SHA256SUMS)
	Actual   []byte
	Reason   string
}

func (e *ChecksumError) Error() string {
	dir, name := filepath.Dir(e.Binary), filepath.Base(e.Binary)
	fix := fmt.Sprintf("if you trust this binary, record its hash: cd %s && sha256sum %s >> %s", dir, name, SumsFile)
	if e.Expected == nil {
		return fmt.Sprintf("refusing plugin %s: %s (SHA-256 %x); %s", e.Binary, e.Reason, e.Actual, fix)
	}
	fix = fmt.Sprintf("if you trust the new binary, replace its line in %s with the output of: cd %s && sha256sum %s", e.SumsPath, dir, name)
	return fmt.Sprintf("refusing plugin %s: SHA-256 mismatch: %s expects %x, the file has %x; %s", e.Binary, e.SumsPath, e.Expected, e.Actual, fix)
}

// VerifyBinary checks path against the SHA256SUMS next to it and returns
// the hash, to be enforced again by go-plugin at launch (SecureConfig).
func VerifyBinary(path string) ([]byte, error) {
	actual, err := FileSHA256(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	sumsPath := filepath.Join(dir, SumsFile)
	sums, err := ReadSums(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &ChecksumError{Binary: path, SumsPath: sumsPath, Actual: actual, Reason: "there is no " + sumsPath}
	}
	if err != nil {
		return nil, err
	}
	expected, ok := sums[filepath.Base(path)]
	if !ok {
		return nil, &ChecksumError{Binary: path, SumsPath: sumsPath, Actual: actual, Reason: sumsPath + " has no entry for it"}
	}
	if !bytes.Equal(expected, actual) {
		return nil, &ChecksumError{Binary: path, SumsPath: sumsPath, Expected: expected, Actual: actual}
	}
	return actual, nil
}
