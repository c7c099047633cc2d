package target

import (
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte(`#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_CC_VERSION_TEXT="gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"
CONFIG_LIVEPATCH=y
# CONFIG_KASAN is not set
CONFIG_NR_CPUS=8192

# General setup
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		"CONFIG_CC_VERSION_TEXT": `"gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"`,
		"CONFIG_LIVEPATCH":       "y",
		"CONFIG_KASAN":           "n",
		"CONFIG_NR_CPUS":         "8192",
	}
	if len(cfg) != len(want) {
		t.Errorf("parsed %d options, want %d: %v", len(cfg), len(want), cfg)
	}
	for k, v := range want {
		if cfg[k] != v {
			t.Errorf("%s = %q, want %q", k, cfg[k], v)
		}
	}
	if got := cfg.CompilerName(); got != "gcc-12" {
		t.Errorf("CompilerName() = %q, want gcc-12", got)
	}
	if got := cfg.CompilerVersionText(); got != "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0" {
		t.Errorf("CompilerVersionText() = %q", got)
	}
}

func TestParseConfigInvalidLine(t *testing.T) {
	_, err := ParseConfig([]byte("CONFIG_A=y\nnot a config line\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error = %v, want one naming line 2", err)
	}
}

func TestDiffConfigs(t *testing.T) {
	targetCfg := Config{
		"CONFIG_A":          "y",
		"CONFIG_B":          "m",
		"CONFIG_C":          "n",
		"CONFIG_PAHOLE":     "124",
		"CONFIG_BUILD_SALT": `"6.1.0-57-amd64"`,
	}
	prepared := Config{
		"CONFIG_A":                   "y",
		"CONFIG_B":                   "y",
		"CONFIG_NEW":                 "y",
		"CONFIG_BUILD_SALT":          `""`,
		"CONFIG_MODULE_SIG_ALL":      "y",
		"CONFIG_MODULE_SIG_KEY":      `"certs/signing_key.pem"`,
		"CONFIG_SYSTEM_TRUSTED_KEYS": `""`,
	}
	got := DiffConfigs(targetCfg, prepared)
	want := []ConfigDiff{
		{Key: "CONFIG_B", Target: "m", Prepared: "y"},
		{Key: "CONFIG_NEW", Target: "", Prepared: "y"},
		{Key: "CONFIG_PAHOLE", Target: "124", Prepared: ""},
	}
	if len(got) != len(want) {
		t.Fatalf("DiffConfigs = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("diff %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestConfigDiffString(t *testing.T) {
	d := ConfigDiff{Key: "CONFIG_PAHOLE_VERSION", Target: "124", Prepared: ""}
	want := "CONFIG_PAHOLE_VERSION: target 124, prepared (absent)"
	if got := d.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestConfigMismatchNamesKeys(t *testing.T) {
	err := configMismatch([]ConfigDiff{{Key: "CONFIG_DEBUG_INFO_BTF_MODULES", Target: "y", Prepared: "n"}})
	if !strings.Contains(err.Error(), "CONFIG_DEBUG_INFO_BTF_MODULES: target y, prepared n") {
		t.Errorf("error %q does not name the key with both values", err)
	}
}
