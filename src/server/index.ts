// The web app's server: HTTP + WebSocket API for annotation, teleop and the live view.
//
// Embedding (the main job runs the sim loop and this server in one process):
//
//   const server = await startServer({ port: 8080, host: '127.0.0.1',
//     dbPath: 'data/pamstack.db',              // or postgres://…, a database several servers share
//     world,                                   // teleop checks (workspace, reach) and state come from it
//     onTeleop: (p, { user }) => loop.runTeleop(p), // optional: run the operator's primitive inside the loop
//     onEstop: (engaged) => loop.setPaused(engaged) });
//   server.publishLive({ cloud, candidates, chosen, metrics, task, episode, step, workspace, source: 'sim' });
//   server.publishMotion({ stamp, step, points, tools, holding }); // during a primitive, as the sim runs at the motion's pace
//   if (server.teleop.estopped) …;             // latched until an operator resets it
//   await server.close();
//
// Without `onTeleop` the server calls `world.execute` itself (one primitive at a time) and republishes
// `world.observe()`; then nothing else may step that world concurrently.
export { startServer, originAllowed, type PamServer, type ServerOptions } from './server.ts';
export { LiveHub, type LiveFrame, type LiveStats } from './live-hub.ts';
export { TeleopController, type TeleopHandler, type TeleopResult } from './teleop.ts';
export { ensureWebBuild, webBuildIsFresh, webSourceHash, WEB_DIST } from './web-build.ts';
export { OP_ROLES } from './session.ts';
