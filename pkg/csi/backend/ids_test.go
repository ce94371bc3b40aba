package backend

import (
	"errors"
	"strings"
	"testing"
)

func TestPathSafeID(t *testing.T) {
	for id, want := range map[string]bool{
		"0b8cd2a4-6f44-4e0f-9d1c-8b2f0c4d5e6f": true,
		"a":                                    true,
		"vol_1-A":                              true,
		"a-":                                   true,
		strings.Repeat("z", 64):                true,
		strings.Repeat("z", 65):                false,
		"":                                     false,
		"-V":                                   false,
		"-":                                    false,
		"x/../y":                               false,
		"../":                                  false,
		"..":                                   false,
		".":                                    false,
		"%2e%2e":                               false,
		"a b":                                  false,
		"a\x00":                                false,
		"a\n":                                  false,
		"é":                                    false,
		"a\\b":                                 false,
	} {
		if got := PathSafeID(id, MaxPathSafeIDLen); got != want {
			t.Errorf("PathSafeID(%q) = %t, want %t", id, got, want)
		}
	}
	if PathSafeID("abc", 2) || !PathSafeID("ab", 2) {
		t.Error("maxLen is not honoured")
	}
}

func TestIDChars(t *testing.T) {
	// IDChars is PathSafeID that allows a leading '-' (NIFCLOUD VolumeIds).
	for id, want := range map[string]bool{
		"-V": true, "vol-1": true, "": false, "x/y": false, "..": false, strings.Repeat("a", 33): false,
	} {
		if got := IDChars(id, 32); got != want {
			t.Errorf("IDChars(%q, 32) = %t, want %t", id, got, want)
		}
	}
}

func TestCheckPathSafeID(t *testing.T) {
	if err := CheckPathSafeID("volume_id", "vol-1", "Cinder volume ID", MaxPathSafeIDLen); err != nil {
		t.Fatalf("valid ID: %v", err)
	}
	err := CheckPathSafeID("node_id", "x/../y", "ID", MaxPathSafeIDLen)
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("error %v does not wrap ErrInvalidArgument", err)
	}
	if want := `node_id "x/../y" is not a valid ID: invalid argument`; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}
