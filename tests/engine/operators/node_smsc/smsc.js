#!/usr/bin/env node
// An operator SMSC built on node-smpp (npm "smpp"), for smsgw's interoperability
// tests (tests/engine/operators/test_node_smpp_interop.py).
//
//   node smsc.js --port 0 [--resp-id hex|hex-lower|decimal]
//                [--receipt-id same|lower|upper|strip-zeros|decimal|hex]
//                [--receipt-pdu deliver_sm|data_sm] [--receipt-form both|tlv|text]
//                [--stat DELIVRD] [--password secret]
//
// It binds any ESME whose password matches, answers every submit_sm with an id
// in the --resp-id form (hex "1A2F3C", hex-lower "1a2f3c", decimal "0001234"),
// then sends a delivery receipt for it (esm_class 0x04) as a deliver_sm or a
// data_sm, with the receipted_message_id and message_state TLVs and/or the
// Appendix B text "id:... stat:...". The receipt's id is the response's id as
// it is ("same"), in lower or upper case, without its leading zeros, as the
// decimal of the response's hex id ("decimal") or as the hex of its decimal id
// ("hex").
//
// Standard input takes one JSON command a line:
//   {"command": "mo", "pdu": "deliver_sm"|"data_sm", "source_addr": "...",
//    "destination_addr": "...", "text": "..."}
// sends a mobile-originated message (data_sm: in message_payload).
//
// Standard output gets one JSON object a line per event: listening, bind,
// submit_sm (with the id given), receipt_sent, receipt_resp and mo_resp (each
// with the command_status the ESME answered), unbind, closed, error.

'use strict';

const smpp = require('smpp');

const STATES = {
	ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8,
};
const RECEIVING = new Set(['bind_transceiver', 'bind_receiver']);

function parseArgs(argv) {
	const options = {
		port: 0,
		'resp-id': 'hex',
		'receipt-id': 'same',
		'receipt-pdu': 'deliver_sm',
		'receipt-form': 'both',
		stat: 'DELIVRD',
		password: 'secret',
	};
	for (let i = 0; i < argv.length; i += 2) {
		const name = argv[i].replace(/^--/, '');
		if (!(name in options) || i + 1 >= argv.length) {
			throw new Error(`unknown or incomplete option ${argv[i]}`);
		}
		options[name] = argv[i + 1];
	}
	options.port = Number(options.port);
	if (!(options.stat in STATES)) {
		throw new Error(`unknown stat ${options.stat}`);
	}
	return options;
}

const options = parseArgs(process.argv.slice(2));

function emit(event) {
	process.stdout.write(JSON.stringify(event) + '\n');
}

let counter = 0x1a2f3c;

function responseId() {
	counter += 1;
	switch (options['resp-id']) {
		case 'hex': return counter.toString(16).toUpperCase();
		case 'hex-lower': return counter.toString(16);
		case 'decimal': return String(counter).padStart(10, '0');
		default: throw new Error(`unknown --resp-id ${options['resp-id']}`);
	}
}

function receiptId(id) {
	switch (options['receipt-id']) {
		case 'same': return id;
		case 'lower': return id.toLowerCase();
		case 'upper': return id.toUpperCase();
		case 'strip-zeros': return id.replace(/^0+(?=.)/, '');
		case 'decimal': return String(parseInt(id, 16));
		case 'hex': return parseInt(id, 10).toString(16).toUpperCase();
		default: throw new Error(`unknown --receipt-id ${options['receipt-id']}`);
	}
}

function pad(n) {
	return String(n).padStart(2, '0');
}

function smppDate(date) {
	return pad(date.getUTCFullYear() % 100) + pad(date.getUTCMonth() + 1) + pad(date.getUTCDate())
		+ pad(date.getUTCHours()) + pad(date.getUTCMinutes());
}

function messageText(pdu) {
	const body = pdu.message_payload || pdu.short_message;
	if (body && typeof body === 'object' && 'message' in body) {
		return Buffer.isBuffer(body.message) ? body.message.toString('hex') : body.message;
	}
	return Buffer.isBuffer(body) ? body.toString('latin1') : '';
}

function receiptText(id, submitted, text) {
	const delivered = options.stat === 'DELIVRD' ? '001' : '000';
	const err = options.stat === 'DELIVRD' ? '000' : '001';
	return `id:${id} sub:001 dlvrd:${delivered} submit date:${smppDate(submitted)} `
		+ `done date:${smppDate(new Date())} stat:${options.stat} err:${err} `
		+ `text:${text.slice(0, 20)}`;
}

const sessions = [];

function receivingSession(preferred) {
	if (preferred && RECEIVING.has(preferred.bindCommand)) {
		return preferred;
	}
	return sessions.find((s) => RECEIVING.has(s.bindCommand));
}

function sendReceipt(session, submit, id, submitted) {
	const target = receivingSession(session);
	const rid = receiptId(id);
	if (!target) {
		emit({event: 'error', error: 'no receiver bind for the receipt', receipted_message_id: rid});
		return;
	}
	const form = options['receipt-form'];
	const fields = {
		source_addr_ton: submit.dest_addr_ton,
		source_addr_npi: submit.dest_addr_npi,
		source_addr: submit.destination_addr,
		dest_addr_ton: submit.source_addr_ton,
		dest_addr_npi: submit.source_addr_npi,
		destination_addr: submit.source_addr,
		esm_class: 0x04,
		data_coding: 0,
	};
	if (form === 'both' || form === 'tlv') {
		fields.receipted_message_id = rid;
		fields.message_state = STATES[options.stat];
	}
	const pduName = options['receipt-pdu'];
	if (form === 'both' || form === 'text') {
		const text = Buffer.from(receiptText(rid, submitted, messageText(submit)), 'latin1');
		if (pduName === 'data_sm') {
			fields.message_payload = text;
		} else {
			fields.short_message = text;
		}
	}
	const pdu = new smpp.PDU(pduName, fields);
	target.send(pdu, (resp) => {
		emit({
			event: 'receipt_resp', command: resp.command, command_status: resp.command_status,
			receipted_message_id: rid, message_id: id,
		});
	});
	emit({event: 'receipt_sent', pdu: pduName, receipted_message_id: rid, message_id: id, form});
}

function onSession(session) {
	sessions.push(session);
	session.on('error', (error) => emit({event: 'error', error: String(error)}));
	session.on('close', () => {
		sessions.splice(sessions.indexOf(session), 1);
		emit({event: 'closed', system_id: session.systemId || ''});
	});
	for (const command of ['bind_transceiver', 'bind_transmitter', 'bind_receiver']) {
		session.on(command, (pdu) => {
			const ok = pdu.password === options.password;
			session.send(pdu.response({
				command_status: ok ? smpp.ESME_ROK : smpp.ESME_RINVPASWD, system_id: 'nodesmsc',
			}));
			emit({event: 'bind', command, system_id: pdu.system_id, command_status: ok ? 0 : 14});
			if (ok) {
				session.bindCommand = command;
				session.systemId = pdu.system_id;
			} else {
				session.close();
			}
		});
	}
	session.on('enquire_link', (pdu) => session.send(pdu.response()));
	session.on('unbind', (pdu) => {
		emit({event: 'unbind', system_id: session.systemId || ''});
		session.send(pdu.response(), () => session.close());
	});
	session.on('submit_sm', (pdu) => {
		const id = responseId();
		const submitted = new Date();
		emit({
			event: 'submit_sm', message_id: id, source_addr: pdu.source_addr,
			destination_addr: pdu.destination_addr, registered_delivery: pdu.registered_delivery,
			data_coding: pdu.data_coding, text: messageText(pdu),
		});
		session.send(pdu.response({message_id: id}), () => {
			if (pdu.registered_delivery & 0x03) {
				setImmediate(() => sendReceipt(session, pdu, id, submitted));
			}
		});
	});
	for (const command of ['deliver_sm_resp', 'data_sm_resp']) {
		// Responses with an error status carry no body: node-smpp emits them too.
		session.on(command, () => {});
	}
}

function sendMo(command) {
	const session = receivingSession(null);
	if (!session) {
		emit({event: 'error', error: 'no receiver bind for the MO'});
		return;
	}
	const text = Buffer.from(command.text, 'latin1');
	const fields = {
		source_addr_ton: 1, source_addr_npi: 1, source_addr: command.source_addr,
		dest_addr_ton: 0, dest_addr_npi: 1, destination_addr: command.destination_addr,
		esm_class: 0, data_coding: 0,
	};
	if (command.pdu === 'data_sm') {
		fields.message_payload = text;
	} else {
		fields.short_message = text;
	}
	session.send(new smpp.PDU(command.pdu, fields), (resp) => {
		emit({
			event: 'mo_resp', pdu: command.pdu, command: resp.command,
			command_status: resp.command_status, text: command.text,
		});
	});
}

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
	buffered += chunk;
	let newline;
	while ((newline = buffered.indexOf('\n')) >= 0) {
		const line = buffered.slice(0, newline).trim();
		buffered = buffered.slice(newline + 1);
		if (!line) {
			continue;
		}
		try {
			const command = JSON.parse(line);
			if (command.command === 'mo') {
				sendMo(command);
			} else {
				emit({event: 'error', error: `unknown command ${line}`});
			}
		} catch (error) {
			emit({event: 'error', error: String(error)});
		}
	}
});
// The test closing our standard input (or dying) ends us.
process.stdin.on('end', () => process.exit(0));

const server = smpp.createServer(onSession);
server.on('error', (error) => {
	emit({event: 'error', error: String(error)});
	process.exit(1);
});
server.listen(options.port, '127.0.0.1', () => {
	emit({event: 'listening', port: server.address().port});
});
