/**
 * Container I/O: attach (hijacked), logs (json-file, follow), resize, and
 * exec (create, start hijacked, inspect, resize).
 */
import type { Duplex } from 'node:stream';
import type { ContainerService } from '../../engine/containers.js';
import type { ExecService } from '../../engine/exec-service.js';
import { readLogFiles, rotateOptions, timeNs, entryMatches, type LogEntry, type ReadOptions } from '../../engine/json-log.js';
import { conflict, invalidParameter } from '../../errors.js';
import { EXEC_CREATE, checkBody } from '../body-shapes.js';
import { queryBool, queryInt, readJson, sendJson } from '../http-io.js';
import type { Router } from '../router.js';
import { hijack, muxFrame, streamSink } from './container-streams.js';

/** "1700000000", "1700000000.5" (what the CLI sends for --since/--until) to nanoseconds; 0 when absent. */
export function unixTimeNs(v: string | null): bigint {
  if (!v) return 0n;
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (!m) {
    const ns = timeNs(v);
    if (ns === 0n) throw invalidParameter(`invalid time value ${JSON.stringify(v)}: use a Unix timestamp or RFC 3339`);
    return ns;
  }
  return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

export function containerIoRoutes(r: Router, containers: ContainerService, execs: ExecService): void {
  r.get('/containers/{id}/logs', ({ req, res, params, query }) => {
    const rec = containers.get(params.id!);
    const o: ReadOptions = {
      stdout: queryBool(query, 'stdout'),
      stderr: queryBool(query, 'stderr'),
      sinceNs: unixTimeNs(query.get('since')),
      untilNs: unixTimeNs(query.get('until')),
    };
    if (!o.stdout && !o.stderr) throw invalidParameter('Bad parameters: you must choose at least one stream');
    const tail = query.get('tail');
    if (tail && tail !== 'all') {
      if (!/^-?\d+$/.test(tail)) throw invalidParameter(`invalid value for "tail": ${JSON.stringify(tail)}`);
      o.tail = Number(tail);
    }
    const log = containers.logger(rec);
    if (!log) throw invalidParameter('configured logging driver does not support reading');
    const timestamps = queryBool(query, 'timestamps');
    const tty = rec.Config.Tty;
    res.writeHead(200, { 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
    const send = (e: LogEntry) => {
      const text = Buffer.from(timestamps ? `${e.time} ${e.log}` : e.log);
      res.write(tty ? text : muxFrame(e.stream, text));
    };
    // Read, ask the log whether its run goes on, subscribe: one tick, so nothing falls
    // between. Not the record's state: it says running until the exit is fully handled,
    // after the log's `close`, and a follow subscribed then would never end.
    for (const e of readLogFiles(log.path, rotateOptions(rec.HostConfig.LogConfig.Config).maxFiles, o)) send(e);
    if (!queryBool(query, 'follow') || !log.running) return void res.end();
    const onEntry = (e: LogEntry) => {
      if (o.untilNs > 0n && timeNs(e.time) > o.untilNs) return done();
      if (entryMatches(e, { ...o, sinceNs: 0n })) send(e);
    };
    const done = () => {
      log.off('entry', onEntry);
      log.off('close', done);
      if (!res.writableEnded) res.end();
    };
    log.on('entry', onEntry);
    log.once('close', done);
    req.socket.once('close', done);
  });

  r.post('/containers/{id}/attach', ({ req, res, query, params }) => {
    const rec = containers.get(params.id!);
    const want = { stdin: queryBool(query, 'stdin'), stdout: queryBool(query, 'stdout'), stderr: queryBool(query, 'stderr') };
    const detachKeys = query.get('detachKeys') ?? undefined;
    const { stream, twoWay } = hijack({ req, res, params, query, apiVersion: '' });
    const sink = streamSink(stream, rec.Config.Tty);
    if (queryBool(query, 'logs')) {
      const log = containers.logger(rec);
      if (log)
        for (const e of readLogFiles(log.path, rotateOptions(rec.HostConfig.LogConfig.Config).maxFiles, {
          stdout: want.stdout,
          stderr: want.stderr,
          sinceNs: 0n,
          untilNs: 0n,
        }))
          sink.write(e.stream, Buffer.from(e.log));
    }
    if (!queryBool(query, 'stream')) return void sink.end('exit');
    const hub = containers.liveState(rec).hub;
    const input = want.stdin && twoWay ? (stream as Duplex) : undefined;
    const remove = hub.attach({ stdout: want.stdout, stderr: want.stderr, input, tty: rec.Config.Tty, detachKeys }, sink);
    stream.once('close', remove);
    containers.emit(rec, 'attach');
  });

  r.post('/containers/{id}/resize', ({ res, params, query }) => {
    const rec = containers.get(params.id!);
    const proc = containers.liveState(rec).proc;
    if (!proc) throw conflict(`Container ${rec.Id} is not running`);
    const [w, h] = [queryInt(query, 'w') ?? 0, queryInt(query, 'h') ?? 0];
    proc.resize(w, h);
    res.writeHead(200).end();
  });

  r.post('/containers/{id}/exec', async ({ req, res, params }) => {
    const body = checkBody<Parameters<ExecService['create']>[1]>((await readJson(req)) ?? {}, EXEC_CREATE);
    const exec = execs.create(params.id!, body);
    sendJson(res, 201, { Id: exec.ID });
  });

  r.post('/exec/{id}/start', async (ctx) => {
    const body = ((await readJson(ctx.req)) ?? {}) as { Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] };
    const exec = execs.get(ctx.params.id!);
    if (exec.started) throw conflict(`Exec command ${exec.ID} has already run`);
    // As dockerd: the process has a terminal if the exec was created with one; start's Tty only says
    // whether the stream is raw or multiplexed (a client sending Tty:false still gets \r\n from the pty).
    const raw = body.Tty ?? exec.Config.Tty;
    if (body.Detach) {
      await execs.start(exec.ID, { consoleSize: body.ConsoleSize }, () => {});
      ctx.res.writeHead(200, { 'Content-Type': 'application/json' }).end();
      return;
    }
    const { stream, twoWay } = hijack(ctx);
    const sink = streamSink(stream, raw);
    const input = exec.Config.AttachStdin && twoWay ? (stream as Duplex) : undefined;
    const remove = exec.hub.attach(
      { stdout: exec.Config.AttachStdout, stderr: exec.Config.AttachStderr, input, tty: exec.Config.Tty, detachKeys: exec.Config.DetachKeys || undefined },
      sink,
    );
    stream.once('close', remove);
    await execs.start(exec.ID, { consoleSize: body.ConsoleSize }, (message) => sink.write('stdout', Buffer.from(message + '\r\n')));
  });

  r.post('/exec/{id}/resize', ({ res, params, query }) => {
    execs.resize(params.id!, queryInt(query, 'w') ?? 0, queryInt(query, 'h') ?? 0);
    res.writeHead(200).end();
  });

  r.get('/exec/{id}/json', ({ res, params }) => {
    const e = execs.get(params.id!);
    sendJson(res, 200, {
      ID: e.ID,
      Running: e.Running,
      ExitCode: e.ExitCode,
      ProcessConfig: { tty: e.Config.Tty, entrypoint: e.Config.Cmd[0], arguments: e.Config.Cmd.slice(1), privileged: e.Config.Privileged, user: e.Config.User },
      OpenStdin: e.Config.AttachStdin,
      OpenStderr: e.Config.AttachStderr,
      OpenStdout: e.Config.AttachStdout,
      CanRemove: false,
      ContainerID: e.ContainerID,
      DetachKeys: e.Config.DetachKeys,
      Pid: e.Pid,
    });
  });
}
