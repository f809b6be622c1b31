/**
 * The two shell scripts the coordinator's pod runs, carried in the run's
 * ConfigMap beside the scenario (so the image stays plain `rtbench`). POSIX
 * sh: node:20-slim has dash. `RTBENCH_RESULTS` moves the results folder
 * (tests run the scripts in a temporary one).
 */

/**
 * Runs `rtbench ARGS...` and leaves its exit code in the results folder,
 * which tells the result container the run is over. The shell is the pod's
 * first process: it passes SIGTERM (a deleted Job, a drained node) on as
 * SIGINT, which rtbench answers as it does Ctrl-C, writing a partial result.
 */
export const COORDINATOR_SCRIPT = `# rtbench k8s: run rtbench, pass signals on, leave the exit code for the result container.
results="\${RTBENCH_RESULTS:-/results}"
rtbench "$@" &
child=$!
trap 'kill -INT "$child" 2>/dev/null' INT TERM
wait "$child"
status=$?
# A trapped signal ends wait early: wait again until rtbench has written its result.
while kill -0 "$child" 2>/dev/null; do
  wait "$child"
  status=$?
done
echo "$status" > "$results/exit-code"
exit "$status"
`;

/**
 * Waits for the coordinator's exit code, then prints the result JSON, so
 * that \`kubectl logs job/NAME -c result\` is the result file alone (the
 * coordinator's own log mixes its table and notices). Kubernetes keeps a
 * finished pod's logs, while \`kubectl cp\` needs a running container.
 */
export const RESULT_SCRIPT = `# rtbench k8s: print the run's result JSON once the coordinator is done.
results="\${RTBENCH_RESULTS:-/results}"
until [ -f "$results/exit-code" ]; do sleep 1; done
for file in "$results"/*.json; do
  if [ -f "$file" ]; then cat "$file"; fi
done
`;
