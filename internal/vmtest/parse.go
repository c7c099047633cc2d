package vmtest

import (
	"regexp"
	"strconv"
	"strings"
)

// kernelProblem matches kernel log lines that report a kernel error: an
// oops, a BUG or WARNING splat, a stack trace, a general protection fault
// or a panic.
var kernelProblem = regexp.MustCompile(`Oops|BUG:|WARNING:|Call Trace|(?i:general protection)|(?i:kernel panic)`)

// parseBoot splits the channel output of a boot into steps and fills in
// the logs and the values of the harness's own steps.
func parseBoot(out *qemuOutput, nonce string) *BootResult {
	channel := strings.ReplaceAll(out.channel, "\r\n", "\n")
	result := &BootResult{Console: out.console, Guest: channel, Elapsed: out.elapsed}
	result.Steps, result.Completed = parseSteps(channel, markerPrefix+" "+nonce+" ")

	result.KernelLog = out.console
	if step, ok := result.Step(StepDmesg); ok && step.Finished {
		result.KernelLog = step.Output
	}
	result.Problems = kernelProblems(result.KernelLog)

	result.BootIDStart = stepValue(result, StepBootIDStart)
	result.BootIDEnd = stepValue(result, StepBootIDEnd)
	result.UptimeStart = stepValue(result, StepUptimeStart)
	result.UptimeEnd = stepValue(result, StepUptimeEnd)
	return result
}

// parseSteps reads begin and end marker lines. The output between them is
// the step's output plus one newline that the guest adds, so that the end
// marker starts a line.
func parseSteps(channel, marker string) ([]Step, bool) {
	var steps []Step
	var body []string
	completed := false
	current := -1

	for _, line := range strings.Split(channel, "\n") {
		rest, isMarker := strings.CutPrefix(line, marker)
		if !isMarker {
			if current >= 0 {
				body = append(body, line)
			}
			continue
		}

		fields := strings.Fields(rest)
		switch {
		case len(fields) == 2 && fields[0] == "begin":
			steps = append(steps, Step{Name: fields[1], Status: -1})
			current = len(steps) - 1
			body = nil
		case len(fields) == 3 && fields[0] == "end" && current >= 0 && steps[current].Name == fields[1]:
			steps[current] = finishStep(steps[current], body, fields[2])
			current = -1
		case len(fields) == 1 && fields[0] == "done":
			completed = true
		}
	}
	return steps, completed
}

func finishStep(step Step, body []string, status string) Step {
	code, err := strconv.Atoi(status)
	if err != nil {
		return step
	}
	step.Finished = true
	step.Status = code
	step.Output = strings.Join(body, "\n")
	return step
}

func stepValue(result *BootResult, name string) string {
	step, ok := result.Step(name)
	if !ok || !step.Finished {
		return ""
	}
	return strings.TrimSpace(step.Output)
}

// kernelProblems returns the lines of log that report a kernel error.
func kernelProblems(log string) []string {
	var problems []string
	for _, line := range strings.Split(log, "\n") {
		if kernelProblem.MatchString(line) {
			problems = append(problems, strings.TrimSpace(line))
		}
	}
	return problems
}
