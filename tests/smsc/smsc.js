// A test SMSC built on the npm `smpp` package, so that our codec and session are checked
// against someone else's. Behaviour comes from a JSON argument; every event is printed as
// one JSON line on stdout; commands arrive as JSON lines on stdin.
'use strict';
const smpp = require('smpp');
const readline = require('readline');

const config = Object.assign(
  {port: 0, systemId: 'redcloud', password: 'secret', respondDelayMs: 0,
   throttleFirst: 0, queueFullFirst: 0, idFormat: 'hex'},
  JSON.parse(process.argv[2] || '{}'));
const sessions = new Set();
let submits = 0;
let outstanding = 0;
let maxOutstanding = 0;

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

const server = smpp.createServer((session) => {
  sessions.add(session);
  session.on('close', () => sessions.delete(session));
  session.on('error', () => {});
  for (const kind of ['bind_transceiver', 'bind_transmitter', 'bind_receiver']) {
    session.on(kind, (pdu) => {
      const ok = pdu.system_id === config.systemId && pdu.password === config.password;
      emit({event: 'bind', kind, systemId: pdu.system_id, ok});
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
    emit({event: 'submit', sequence: pdu.sequence_number, source: pdu.source_addr,
          destination: pdu.destination_addr, dataCoding: pdu.data_coding,
          esmClass: pdu.esm_class, registeredDelivery: pdu.registered_delivery,
          text, shortMessage: raw, tlvs: tlvs(pdu), outstanding, maxOutstanding});
    setTimeout(() => {
      outstanding -= 1;
      let status = 0;
      if (submits <= config.throttleFirst) status = smpp.ESME_RTHROTTLED;
      else if (submits <= config.throttleFirst + config.queueFullFirst) status = smpp.ESME_RMSGQFUL;
      const id = config.idFormat === 'dec' ? String(1000 + submits) : (4096 + submits).toString(16);
      session.send(pdu.response(status ? {command_status: status} : {message_id: id}));
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
  for (const session of sessions) {
    if (command.cmd === 'deliver') {
      session.deliver_sm({
        source_addr: command.source, destination_addr: command.destination,
        esm_class: command.esmClass || 0, data_coding: command.dataCoding || 0,
        short_message: Buffer.from(command.shortMessage, 'hex'),
      }, (resp) => emit({event: 'deliver_sm_resp', status: resp.command_status}));
    } else if (command.cmd === 'enquire') {
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
