import { startWisproSimulator } from '../src/simulators/wispro/wispro.simulator.ts';

// A Wispro simulator in its own process, so that its memory is not counted as Puente's.
const sim = await startWisproSimulator({ token: 'bench-token', clients: Number(process.argv[2] ?? 10_000), seed: 3 });
process.stdout.write(`${sim.url}\n`);
process.on('SIGTERM', () => void sim.close().then(() => process.exit(0)));
