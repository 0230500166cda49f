/**
 * The arcproxy command line. Flags, defaults and help mirror `az connectedk8s proxy`; errors are
 * ArcproxyErrors whose exit codes follow docs/exit-codes.md.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { processIo, type CliIo } from './io.js';
import { watchParent } from './parent-watch.js';
import { signalExitCode } from './signals.js';
import { ArcproxyError, ExitCode, UsageError } from '../errors/index.js';
import { prefetchPopKey } from '../azure/pop/pop-key.js';
// The proxy command's modules (and the emulator's) load only when they run: --help, --version
// and usage errors stay fast.

const EXAMPLES = `
Examples:
  Reach a cluster with your Microsoft Entra sign-in (az login, a service principal, ...):
    $ arcproxy -n my-cluster -g my-rg

  Use a Kubernetes service-account token instead of Entra ID at the cluster:
    $ arcproxy -n my-cluster -g my-rg --token "$SA_TOKEN"

  Run one command against the cluster, then stop (CI): arcproxy exits with its code
    $ arcproxy -n my-cluster -g my-rg -- kubectl apply -f app.yaml

  Print the kubeconfig instead of merging it; pick a free port:
    $ arcproxy -n my-cluster -g my-rg -f - --port 0

  When something is wrong: check each step against Azure and print a report for an issue
    $ arcproxy diagnose -n my-cluster -g my-rg

  Try everything locally against the built-in emulator:
    $ arcproxy emulator --write-env /tmp/arc.env &   # then: . /tmp/arc.env
    $ arcproxy -n demo -g demo-rg -- kubectl get pods
`;

/** package.json's version, set at build time in both bundles (scripts/esbuild-shared.mjs; the single executable has no package.json beside it). */
declare const __ARCPROXY_VERSION__: string | undefined;

function version(): string {
  if (typeof __ARCPROXY_VERSION__ === 'string') return __ARCPROXY_VERSION__;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** az connectedk8s proxy's port, for foreground mode. */
const DEFAULT_PORT = 47011;

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535 (0 picks a free port).');
  return n;
}

interface ProxyFlags {
  name?: string;
  resourceGroup?: string;
  subscription?: string;
  token?: string;
  file?: string;
  port?: number;
  kubeContext?: string;
  cloud?: string;
  keepKubeconfig?: boolean;
  debug?: boolean;
  output: 'text' | 'json';
  readyFile?: string;
  authScheme: 'auto' | 'pop' | 'bearer';
}

/** What `arcproxy diagnose` takes from the proxy's options. */
const DIAGNOSE_OPTIONS = new Set(['--name', '--resource-group', '--subscription', '--token', '--auth-scheme', '--cloud', '--output']);

/** What main() needs to know of a run: its exit code, and whether the proxy command reported its own error. */
interface RunState {
  exitCode: number;
  /** Set once the proxy command runs: it reports its errors (JSON `error` event) itself. */
  reported: boolean;
}

function buildProgram(io: CliIo, run: RunState): Command {
  const program = new Command('arcproxy');
  program
    .description('Reach an Azure Arc-enabled Kubernetes cluster through Cluster Connect: a local proxy for kubectl, helm and any kubeconfig-aware tool.')
    .version(version(), '-v, --version')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Commander's own "error: ..." lines, named like arcproxy's other errors.
      outputError: (s, write) => write(`arcproxy: ${s}`),
    })
    .usage('-n <name> -g <group> [options] [-- <command>...]')
    .exitOverride()
    .enablePositionalOptions()
    .passThroughOptions()
    .option('-n, --name <name>', 'Name of the Arc-enabled Kubernetes cluster.')
    .option('-g, --resource-group <group>', 'Name of the resource group.')
    .option('--subscription <id|name>', 'Subscription id or name (default: AZURE_SUBSCRIPTION_ID, then the Azure CLI default).')
    // The environment keeps the token out of the process list, where any local user can read a flag.
    .addOption(
      new Option(
        '--token <token>',
        'Service-account token: the cluster authenticates you with it instead of Microsoft Entra ID (or set ARCPROXY_TOKEN, which stays out of the process list).',
      ).env('ARCPROXY_TOKEN'),
    )
    .option(
      '-f, --file <path>',
      'Kubeconfig file to update (default: the file kubectl would write: $KUBECONFIG, else ~/.kube/config). "-" prints it to stdout.',
    )
    .option(
      '--port <port>',
      `Local port kubectl talks to (default: ${DEFAULT_PORT}; in run mode a free one, as its kubeconfig is its own). 0 picks a free port.`,
      parsePort,
    )
    .option('--kube-context <name>', 'Context name to write (default: the cluster name).')
    .addOption(
      new Option(
        '--auth-scheme <scheme>',
        'Entra mode: pop sends proof-of-possession tokens (what clusters enforce by default), bearer plain tokens, auto PoP where the sign-in source can get them.',
      )
        .choices(['auto', 'pop', 'bearer'])
        .default('auto')
        .env('ARCPROXY_AUTH_SCHEME'),
    )
    .addOption(
      new Option('--cloud <name|file>', 'AzureCloud, AzureUSGovernment, AzureChinaCloud, or a cloud profile file (default: $ARCPROXY_CLOUD, else AzureCloud).'),
    )
    .option('--keep-kubeconfig', 'Keep the kubeconfig entries when the proxy stops (default: remove them and restore the previous context).')
    .addOption(
      new Option('-o, --output <format>', 'text: az-style status lines; json: one JSON event per line (ready, stopped, error, ...).')
        .choices(['text', 'json'])
        .default('text'),
    )
    .option('--ready-file <path>', 'Write {port, context, kubeconfig, server, mode, pid} as JSON here once ready; removed on exit.')
    .option('--debug', 'Log start-up stages and every tunnelled request with its query (never tokens: secret-looking values are redacted).')
    .argument('[command...]', 'Run COMMAND with KUBECONFIG set to the proxy, then exit with its exit code.')
    .addHelpText('after', EXAMPLES)
    .action(async (command: string[], flags: ProxyFlags) => {
      if (!flags.name || !flags.resourceGroup) {
        const missing = [...(flags.name ? [] : ['--name/-n']), ...(flags.resourceGroup ? [] : ['--resource-group/-g'])];
        throw new UsageError(`the following arguments are required: ${missing.join(', ')} (see arcproxy --help).`, 'ARCPROXY_MISSING_ARGUMENT');
      }
      // Entra mode's proof-of-possession key, made on libuv's thread pool meanwhile.
      if (!flags.token && flags.authScheme !== 'bearer') prefetchPopKey();
      const { runProxyCommand } = await import('./proxy-command.js');
      run.reported = true;
      run.exitCode = await runProxyCommand(
        {
          name: flags.name,
          resourceGroup: flags.resourceGroup,
          // Run mode writes a kubeconfig of its own: a free port never collides with a running proxy.
          port: flags.port ?? (command.length > 0 ? 0 : DEFAULT_PORT),
          ...(flags.subscription ? { subscription: flags.subscription } : {}),
          ...(flags.token ? { token: flags.token } : {}),
          ...(flags.file ? { file: flags.file } : {}),
          ...(flags.kubeContext ? { kubeContext: flags.kubeContext } : {}),
          ...(flags.cloud ? { cloud: flags.cloud } : {}),
          ...(flags.keepKubeconfig ? { keepKubeconfig: true } : {}),
          ...(flags.debug ? { debug: true } : {}),
          output: flags.output,
          authScheme: flags.authScheme,
          ...(flags.readyFile ? { readyFile: flags.readyFile } : {}),
          ...(command.length > 0 ? { command } : {}),
        },
        io,
      );
    });

  // The proxy's own sign-in, cluster and output options, the same Option objects: one definition.
  const diagnose = program
    .command('diagnose')
    .description(
      'Check each step of reaching the cluster (sign-in, ARM, the relay, GET /version through the tunnel) against Azure and print a report to paste into an issue, secrets redacted. Opens no port, writes no kubeconfig.',
    );
  for (const option of program.options) if (DIAGNOSE_OPTIONS.has(option.long ?? '')) diagnose.addOption(option);
  diagnose.addHelpText('after', "\nWith -o json the report is one JSON document. Exit code: 0 when every step passed, else the first failing step's.");
  diagnose.action(async (flags: Omit<ProxyFlags, 'port'>) => {
    if (!flags.name || !flags.resourceGroup) {
      throw new UsageError('the following arguments are required: --name/-n, --resource-group/-g (see arcproxy diagnose --help).', 'ARCPROXY_MISSING_ARGUMENT');
    }
    if (!flags.token && flags.authScheme !== 'bearer') prefetchPopKey();
    const { runDiagnoseCommand } = await import('./diagnose-command.js');
    run.exitCode = await runDiagnoseCommand(
      {
        name: flags.name,
        resourceGroup: flags.resourceGroup,
        version: version(),
        output: flags.output,
        authScheme: flags.authScheme,
        ...(flags.subscription ? { subscription: flags.subscription } : {}),
        ...(flags.token ? { token: flags.token } : {}),
        ...(flags.cloud ? { cloud: flags.cloud } : {}),
      },
      io,
    );
  });

  program
    .command('emulator')
    .description('Run the built-in emulator of Entra ID, Azure Resource Manager, Azure Relay and an Arc-enabled cluster on loopback.')
    .option('--port <port>', 'First of a block of fixed ports (default: any free ports).', parsePort)
    .option('--seed <file>', 'YAML seed describing tenants, principals, clusters and pods (default: built-in).')
    .option('--write-env <path>', 'Write `export NAME=value` lines for arcproxy and the Azure SDKs to this file.')
    // The old name: Node 20 takes `--env-file` anywhere on its command line as its own flag, so
    // through npx (itself a Node script) it never reached us. Accepted where it does, with a warning.
    .addOption(new Option('--env-file <path>').hideHelp())
    .option('--state-dir <dir>', 'Where to write the cloud profile, created if missing (default: a temporary directory, removed on stop).')
    .option(
      '--log',
      'Print one line per request at the emulated apiserver and agent on stderr: time, component, user name, method, path with query (credentials redacted), status, duration.',
    )
    .action(async (flags: { port?: number; seed?: string; writeEnv?: string; envFile?: string; stateDir?: string; log?: boolean }) => {
      const { envFile, ...rest } = flags;
      if (envFile !== undefined) io.stderr.write('arcproxy: warning: --env-file is deprecated (Node takes it as its own flag under npx); use --write-env.\n');
      const { runEmulatorCommand } = await import('./emulator-command.js');
      run.exitCode = await runEmulatorCommand({ ...rest, ...(rest.writeEnv === undefined && envFile !== undefined ? { writeEnv: envFile } : {}) }, io);
    });
  return program;
}

/**
 * Build time only (bin/load-bundle.js, writing V8's code cache): evaluates the proxy command's
 * modules and the Azure SDK's HTTP pipeline, as a launch does before ready, so the cache holds
 * their code compiled and a launch does not parse them again. Starts nothing.
 */
export async function loadProxyModules(): Promise<void> {
  await import('./proxy-command.js');
  const { loadCoreClient, loadCoreRestPipeline } = await import('../azure/sdk.js');
  loadCoreClient();
  loadCoreRestPipeline();
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const run: RunState = { exitCode: 0, reported: false };
  const program = buildProgram(io, run);
  // Under npx, a signal to npm's pid never reaches arcproxy: stop when npm is gone (parent-watch.ts).
  const stopWatchingParent =
    io.signals === process
      ? watchParent({
          env: io.env,
          ppid: () => process.ppid,
          onParentGone: () => {
            io.stderr.write('arcproxy: the npm process that started arcproxy has exited; stopping.\n');
            // Windows cannot send a process SIGHUP: raise it in-process, as the hang-up it stands for
            // (with no handler yet, the hang-up's default: exit).
            if (process.platform !== 'win32') process.kill(process.pid, 'SIGHUP');
            else if (!process.emit('SIGHUP', 'SIGHUP')) process.exit(signalExitCode('SIGHUP'));
          },
        })
      : () => undefined;
  try {
    await program.parseAsync(argv, { from: 'user' });
    return run.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; parse errors were already printed by commander.
      if (err.exitCode === 0) return 0;
      reportJsonError(argv, io, 'ARCPROXY_BAD_INPUT', err.message.replace(/^error: /, ''), ExitCode.badInput);
      return ExitCode.badInput;
    }
    if (err instanceof ArcproxyError) {
      if (!run.reported) reportJsonError(argv, io, err.code, err.message, err.exitCode);
      io.stderr.write(`arcproxy: error: ${err.message}\n`);
      if (io.env.ARCPROXY_DEBUG_ERRORS) io.stderr.write(`${err.stack}\n`);
      return err.exitCode;
    }
    io.stderr.write(`arcproxy: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return ExitCode.internal;
  } finally {
    stopWatchingParent();
  }
}

/**
 * Under `-o json`, an error found before the proxy command runs (a usage error, a missing flag) is
 * the same `error` event as any other, on the stream the events would have used: stderr in run
 * mode and with `-f -`, where stdout is not arcproxy's. Read from argv: commander has failed.
 */
function reportJsonError(argv: string[], io: CliIo, code: string, message: string, exitCode: number): void {
  const end = argv.indexOf('--');
  const own = end === -1 ? argv : argv.slice(0, end);
  const json = own.some((arg, i) => arg === '--output=json' || arg === '-ojson' || ((arg === '-o' || arg === '--output') && own[i + 1] === 'json'));
  if (!json) return;
  const stdoutTaken = end !== -1 || own.some((arg, i) => arg === '--file=-' || arg === '-f-' || ((arg === '-f' || arg === '--file') && own[i + 1] === '-'));
  (stdoutTaken ? io.stderr : io.stdout).write(`${JSON.stringify({ event: 'error', time: new Date().toISOString(), code, message, exitCode })}\n`);
}
