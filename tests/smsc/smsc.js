// A test SMSC built on the npm `smpp` package, so that our codec and session are checked
// against someone else's. Behaviour comes from a JSON argument; every event is printed as
// one JSON line on stdout; commands arrive as JSON lines on stdin.
'use strict';
const smpp = require('smpp');
const readline = require('readline');
const fs = require('fs');

// Receipts: `receipts` turns them on; `receiptIdFormat` writes the id as in the response
// ('same') or as the hex response id's decimal value, zero-padded to 10 digits ('dec');
// `receiptTlv` adds receipted_message_id; `receiptBeforeResp` sends the receipt before the
// submit_sm_resp; `statFor` / `rejectFor` give a destination its receipt stat or a refusal,
// `statForSubmit` the nth submit_sm its receipt stat.
const config = Object.assign(
  {port: 0, systemId: 'redcloud', password: 'secret', respondDelayMs: 0,
   throttleFirst: 0, queueFullFirst: 0, idFormat: 'hex', quiet: false,
   receipts: false, receiptDelayMs: 20, receiptIdFormat: 'same', receiptTlv: false,
   receiptBeforeResp: false, statFor: {}, statForSubmit: {}, rejectFor: {}},
  JSON.parse(process.argv[2] || '{}'));
const sessions = new Set();
let submits = 0;
let outstanding = 0;
let maxOutstanding = 0;
let receiptsSent = 0;
let bound = 0;
let maxBound = 0;

function receiver(preferred) {
  if (preferred && preferred.kind !== 'bind_transmitter' && sessions.has(preferred)) return preferred;
  for (const session of sessions) {
    if (session.kind === 'bind_transceiver' || session.kind === 'bind_receiver') return session;
  }
  return null;
}

function sendReceipt(origin, id, destination, n) {
  const session = receiver(origin);
  if (!session) { emit({event: 'receipt_undeliverable', id}); return; }
  const stat = config.statForSubmit[String(n)] || config.statFor[destination] || 'DELIVRD';
  const err = stat === 'DELIVRD' ? '000' : '001';
  const shown = config.receiptIdFormat === 'dec'
    ? String(parseInt(id, 16)).padStart(10, '0') : id;
  const text = `id:${shown} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} ` +
    `submit date:2611291200 done date:2611291201 stat:${stat} err:${err} text:`;
  const options = {source_addr: destination, destination_addr: '', esm_class: 4,
                   short_message: Buffer.from(text, 'latin1')};
  if (config.receiptTlv) options.receipted_message_id = shown;
  receiptsSent += 1;
  session.deliver_sm(options, (resp) =>
    emit({event: 'receipt_resp', id: shown, stat, status: resp.command_status}));
}

function emit(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function tlvs(pdu) {
  const out = {};
  for (const name of ['sar_msg_ref_num', 'sar_total_segments', 'sar_segment_seqnum']) {
    if (pdu[name] !== undefined) out[name] = pdu[name];
  }
  return out;
}

// `tls: {key, cert}` (PEM file paths) serves SMPP over TLS.
const tlsOptions = config.tls
  ? {key: fs.readFileSync(config.tls.key), cert: fs.readFileSync(config.tls.cert)} : {};
const server = smpp.createServer(tlsOptions, (session) => {
  sessions.add(session);
  session.on('close', () => {
    sessions.delete(session);
    if (session.kind) bound -= 1;
  });
  session.on('error', () => {});
  for (const kind of ['bind_transceiver', 'bind_transmitter', 'bind_receiver']) {
    session.on(kind, (pdu) => {
      const ok = pdu.system_id === config.systemId && pdu.password === config.password;
      emit({event: 'bind', kind, systemId: pdu.system_id, ok});
      if (ok) {
        session.kind = kind;
        bound += 1;
        maxBound = Math.max(maxBound, bound);
      }
      session.send(pdu.response(ok ? {} : {command_status: smpp.ESME_RINVPASWD}));
    });
  }
  session.on('submit_sm', (pdu) => {
    submits += 1;
    outstanding += 1;
    maxOutstanding = Math.max(maxOutstanding, outstanding);
    // The library hands over short_message decoded by data_coding: its reading of our octets.
    const message = pdu.short_message;
    const text = Buffer.isBuffer(message) ? null : message.message;
    const raw = Buffer.isBuffer(message) ? message.toString('hex') : null;
    const n = submits;
    if (!config.quiet) {
      const payload = pdu.message_payload;
      emit({event: 'submit', n, at: Date.now(), sequence: pdu.sequence_number, source: pdu.source_addr,
            destination: pdu.destination_addr, dataCoding: pdu.data_coding,
            esmClass: pdu.esm_class, registeredDelivery: pdu.registered_delivery,
            validity: pdu.validity_period, text, shortMessage: raw,
            udh: message.udh ? Buffer.concat(message.udh).toString('hex') : null,
            payload: payload === undefined ? null
              : (Buffer.isBuffer(payload) ? payload.toString('hex') : payload.message),
            tlvs: tlvs(pdu), outstanding, maxOutstanding});
    }
    let status = 0;
    if (n <= config.throttleFirst) status = smpp.ESME_RTHROTTLED;
    else if (n <= config.throttleFirst + config.queueFullFirst) status = smpp.ESME_RMSGQFUL;
    else if (config.rejectFor[pdu.destination_addr]) status = config.rejectFor[pdu.destination_addr];
    const id = config.idFormat === 'dec' ? String(1000 + n) : (4096 + n).toString(16);
    const receipt = !status && config.receipts && pdu.registered_delivery;
    if (receipt && config.receiptBeforeResp) sendReceipt(session, id, pdu.destination_addr, n);
    setTimeout(() => {
      outstanding -= 1;
      session.send(pdu.response(status ? {command_status: status} : {message_id: id}));
      if (!config.quiet) emit({event: 'submit_resp', n, status, id});
      if (receipt && !config.receiptBeforeResp) {
        setTimeout(() => sendReceipt(session, id, pdu.destination_addr, n), config.receiptDelayMs);
      }
    }, config.respondDelayMs);
  });
  session.on('enquire_link', (pdu) => {
    emit({event: 'enquire_link'});
    session.send(pdu.response());
  });
  session.on('unbind', (pdu) => {
    emit({event: 'unbind'});
    session.send(pdu.response());
    session.close();
  });
  session.on('generic_nack', (pdu) => {
    emit({event: 'generic_nack', status: pdu.command_status});
  });
});

readline.createInterface({input: process.stdin}).on('line', (line) => {
  const command = JSON.parse(line);
  if (command.cmd === 'stats') {
    emit({event: 'stats', submits, receipts: receiptsSent, bound, maxBound, maxOutstanding});
    return;
  }
  if (command.cmd === 'deliver') {  // an MO, on one session that can receive
    const session = receiver(null);
    const options = {
      source_addr: command.source, destination_addr: command.destination,
      source_addr_ton: command.sourceTon === undefined ? 1 : command.sourceTon,
      dest_addr_ton: command.destTon === undefined ? 1 : command.destTon,
      esm_class: command.esmClass || 0, data_coding: command.dataCoding || 0,
      short_message: Buffer.from(command.shortMessage, 'hex'),
    };
    Object.assign(options, command.tlvs || {});
    if (!session) { emit({event: 'deliver_undeliverable'}); return; }
    session.deliver_sm(options, (resp) => emit({event: 'deliver_sm_resp', status: resp.command_status}));
    return;
  }
  for (const session of sessions) {
    if (command.cmd === 'enquire') {
      session.enquire_link({}, (resp) => emit({event: 'enquire_link_resp', status: resp.command_status}));
    } else if (command.cmd === 'garbage') {
      // a PDU with a command id SMPP 3.4 does not have, sequence 77
      session.socket.write(Buffer.from('00000010000000770000000000000' + '04d', 'hex'));
    } else if (command.cmd === 'drop') {
      session.socket.destroy();
    }
  }
});

server.listen(config.port, '127.0.0.1', () => {
  emit({event: 'listening', port: server.address().port});
});
