/**
 * `npx rtbench serve ... &` then `kill $!` signals npm, not rtbench: npm
 * exits without passing SIGTERM on, and rtbench would serve on as an
 * orphan. When npm launched this process (npx or an npm script), its exit
 * is the user's "stop": this calls `onExit` once the parent is gone. Other
 * parents (a shell, nohup, a supervisor) are left alone: a shell exiting
 * does not mean stop.
 */
export function whenLauncherExits(onExit: () => void, pollMs = 500): () => void {
  if (process.env.npm_execpath === undefined) return () => {};
  const parent = process.ppid;
  const timer = setInterval(() => {
    // process.ppid is read afresh each time: an orphan is adopted by init or a subreaper.
    if (process.ppid !== parent) {
      clearInterval(timer);
      onExit();
    }
  }, pollMs);
  timer.unref();
  return () => clearInterval(timer);
}
