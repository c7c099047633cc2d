package target

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Config is a parsed kernel .config: option name (with its CONFIG_ prefix)
// to value as written, with quotes kept. An option written as
// "# CONFIG_X is not set" has the value "n", as Kconfig treats it.
type Config map[string]string

// benignConfigKeys are options that make olddefconfig on a build machine
// may set differently from the distribution without changing compiled
// code: the build salt and the module signing key setup.
var benignConfigKeys = map[string]bool{
	"CONFIG_BUILD_SALT":          true,
	"CONFIG_MODULE_SIG_ALL":      true,
	"CONFIG_MODULE_SIG_KEY":      true,
	"CONFIG_SYSTEM_TRUSTED_KEYS": true,
}

// ConfigDiff is one option whose value differs between two configs. An
// empty value means the option is absent from that config.
type ConfigDiff struct {
	Key      string
	Target   string
	Prepared string
}

func (d ConfigDiff) String() string {
	return fmt.Sprintf("%s: target %s, prepared %s", d.Key, showConfigValue(d.Target), showConfigValue(d.Prepared))
}

func showConfigValue(v string) string {
	if v == "" {
		return "(absent)"
	}
	return v
}

// ParseConfig parses the text of a kernel .config.
func ParseConfig(data []byte) (Config, error) {
	cfg := Config{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if key, ok := parseUnsetOption(line); ok {
			cfg[key] = "n"
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(key, "CONFIG_") {
			return nil, fmt.Errorf("line %d: invalid config line %q", n, line)
		}
		cfg[key] = value
	}
	return cfg, sc.Err()
}

// parseUnsetOption returns the option name of a "# CONFIG_X is not set" line.
func parseUnsetOption(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "# ")
	if !ok {
		return "", false
	}
	key, ok := strings.CutSuffix(rest, " is not set")
	if !ok || !strings.HasPrefix(key, "CONFIG_") || strings.Contains(key, " ") {
		return "", false
	}
	return key, true
}

// ReadConfig reads and parses the kernel config at path.
func ReadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return cfg, nil
}

// DiffConfigs returns the options whose values differ between the target's
// config and a prepared one, sorted by name, leaving out the options in
// benignConfigKeys. An absent option equals "n".
func DiffConfigs(targetCfg, prepared Config) []ConfigDiff {
	var diffs []ConfigDiff
	for _, key := range unionKeys(targetCfg, prepared) {
		if benignConfigKeys[key] {
			continue
		}
		t, p := targetCfg[key], prepared[key]
		if normalizeUnset(t) == normalizeUnset(p) {
			continue
		}
		diffs = append(diffs, ConfigDiff{Key: key, Target: t, Prepared: p})
	}
	return diffs
}

func normalizeUnset(v string) string {
	if v == "" {
		return "n"
	}
	return v
}

func unionKeys(a, b Config) []string {
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// CompilerVersionText returns the unquoted CONFIG_CC_VERSION_TEXT, the
// first line of "CC --version" for the compiler that built the kernel.
func (c Config) CompilerVersionText() string {
	return strings.Trim(c["CONFIG_CC_VERSION_TEXT"], `"`)
}

// CompilerName returns the compiler command from CONFIG_CC_VERSION_TEXT,
// such as "gcc-12", or "" if the config has no version text.
func (c Config) CompilerName() string {
	name, _, _ := strings.Cut(c.CompilerVersionText(), " ")
	return name
}
