#!/usr/bin/env python3
"""QA for burst_decoder and the whole burst link in GNU Radio flowgraphs.

burst_tx (test traffic) -> channels.channel_model (AWGN, a carrier offset of 5 % of
the symbol rate, a sampling offset, 3-tap multipath) -> burst_sync -> [DDPM denoiser]
-> burst_decoder: every burst arrives with a correct CRC and no bit error at a high
SNR, with or without a denoiser in between.
"""

import numpy as np
import pmt

from gnuradio import blocks, channels, gr, gr_unittest
from gnuradio.wigenai import (
    burst_decoder,
    burst_sync,
    burst_tx,
    ddpm_denoiser,
    ddpm_denoiser_cc,
)
from wigenai.burst import BurstReceiver, build_stream, known_payload

SPS = 4
SEED = 7
N_BURSTS = 20
PAYLOAD_LEN = 64
ESN0_DB = 25.0


def link(between=None):
    """The TX-channel-RX flowgraph; returns (decoder, PDUs as (meta dict, bytes))."""
    tx = burst_tx(
        "qpsk",
        SPS,
        mode="test",
        payload_len=PAYLOAD_LEN,
        payload_seed=SEED,
        n_bursts=N_BURSTS,
        gap=200,
    )
    taps = np.array([1.0, 0.35 - 0.2j, 0.12j])
    taps /= np.linalg.norm(taps)
    # Es/N0 = symbol energy / noise power per complex sample; the samples carry
    # 1/sps of the symbol energy each.
    channel = channels.channel_model(
        noise_voltage=float(np.sqrt(10 ** (-ESN0_DB / 10))),
        frequency_offset=0.05 / SPS,
        epsilon=1.0 + 80e-6,
        taps=taps.tolist(),
        noise_seed=3,
    )
    sync = burst_sync(SPS)
    decoder = burst_decoder(payload_seed=SEED)
    store = blocks.message_debug()
    tb = gr.top_block()
    chain = [tx, channel, sync] + ([between] if between is not None else [])
    tb.connect(*chain, decoder)
    tb.msg_connect(decoder, "pdus", store, "store")
    tb.run()
    return decoder, received_pdus(store)


def received_pdus(store):
    """(metadata dict, payload bytes) of each PDU a message_debug stored."""
    pdus = []
    for i in range(store.num_messages()):
        msg = store.get_message(i)
        meta = pmt.to_python(pmt.car(msg))
        pdus.append((meta, bytes(pmt.u8vector_elements(pmt.cdr(msg)))))
    return pdus


def symbols_and_tags(payloads, modulation="16qam"):
    """Equalized data symbols of clean bursts (library receiver) and burst_sync's
    tags for them, as a tagged vector source would carry them."""
    samples, _ = build_stream(payloads, modulation=modulation)
    results = BurstReceiver().process(samples)
    symbols, tags, pos = [], [], 0
    for r in results:
        info = {
            "seq": r.seq,
            "modulation": r.modulation,
            "pmf_id": r.pmf_id,
            "length": r.header.length,
            "cfo_per_symbol": 0.0,
            "start": r.start,
            "snr_db": r.snr_db,
            "metric": r.metric,
            "header_ok": True,
        }
        tags.append((pos, "burst", pmt.to_pmt(info)))
        tags.append((pos, "packet_len", pmt.from_long(r.symbols.size)))
        symbols.append(r.symbols)
        pos += r.symbols.size
    return np.concatenate(symbols), tags


def decode(symbols, tags, **kwargs):
    """Run tagged symbols into a burst_decoder; (decoder, PDUs)."""
    stream_tags = [
        gr.tag_utils.python_to_tag((offset, pmt.intern(key), value))
        for offset, key, value in tags
    ]
    src = blocks.vector_source_c(
        symbols.astype(np.complex64).tolist(), False, 1, stream_tags
    )
    decoder = burst_decoder(**kwargs)
    store = blocks.message_debug()
    tb = gr.top_block()
    tb.connect(src, decoder)
    tb.msg_connect(decoder, "pdus", store, "store")
    tb.run()
    return decoder, received_pdus(store)


class qa_burst_decoder(gr_unittest.TestCase):
    def check_all_delivered(self, decoder, pdus):
        sent = [known_payload(SEED, seq, PAYLOAD_LEN) for seq in range(N_BURSTS)]
        self.assertEqual([meta["seq"] for meta, _ in pdus], list(range(N_BURSTS)))
        self.assertEqual([payload for _, payload in pdus], sent)
        for meta, _ in pdus:
            self.assertTrue(meta["crc_ok"])
            self.assertEqual(meta["bit_errors"], 0)
            self.assertEqual(meta["modulation"], "qpsk")
            self.assertAlmostEqual(meta["cfo_per_symbol"], 0.05, places=3)
            self.assertGreater(meta["esn0_db"], 15.0)
        stats = decoder.stats()
        self.assertEqual(stats["bursts"], N_BURSTS)
        self.assertEqual(stats["crc_ok"], N_BURSTS)
        self.assertEqual(stats["bit_errors"], 0)
        self.assertEqual(stats["bits"], 8 * PAYLOAD_LEN * N_BURSTS)
        self.assertEqual(stats["ber"], 0.0)
        self.assertEqual((stats["ignored_symbols"], stats["truncated"]), (0, 0))

    def test_link_through_the_channel_model_delivers_every_burst(self):
        decoder, pdus = link()
        self.check_all_delivered(decoder, pdus)

    def test_ddpm_denoisers_in_between_deliver_the_same_payloads(self):
        for denoiser in (
            ddpm_denoiser_cc("qpsk", snr_db=-5.0),
            ddpm_denoiser("qpsk", snr_db=-5.0),
        ):
            decoder, pdus = link(denoiser)
            self.check_all_delivered(decoder, pdus)
            # The chains started at the measured Es/N0, not at the configured -5 dB.
            self.assertGreater(denoiser.esn0_db(), 15.0)

    def test_failed_crcs_untagged_and_cut_bursts_are_counted(self):
        payloads = [known_payload(1, seq, 30) for seq in range(3)]
        symbols, tags = symbols_and_tags(payloads)
        lead = np.full(25, 0.3 + 0.3j)  # symbols before any burst tag
        second = tags[2][0]
        symbols[second + 5] = -symbols[second + 5]  # one symbol error in burst 1
        cut = symbols.size - 10  # the stream ends inside burst 2
        stream = np.concatenate([lead, symbols[:cut]])
        shifted = [(offset + lead.size, key, value) for offset, key, value in tags]

        for emit_failed in (False, True):
            decoder, pdus = decode(
                stream, shifted, payload_seed=1, emit_failed=emit_failed
            )
            stats = decoder.stats()
            self.assertEqual((stats["bursts"], stats["crc_ok"]), (2, 1))
            self.assertEqual(stats["ignored_symbols"], lead.size)
            self.assertEqual(stats["truncated"], 1)
            self.assertGreater(stats["bit_errors"], 0)
            self.assertEqual(stats["bits"], 2 * 8 * 30)
            self.assertEqual(
                [m["crc_ok"] for m, _ in pdus], [True, False][: 1 + emit_failed]
            )
            self.assertEqual(pdus[0][1], payloads[0])

    def test_payloads_need_no_seed(self):
        payloads = [bytes(range(50)), b"hello"]
        symbols, tags = symbols_and_tags(payloads, "64qam")
        decoder, pdus = decode(symbols, tags)
        self.assertEqual([payload for _, payload in pdus], payloads)
        self.assertTrue(all("bit_errors" not in meta for meta, _ in pdus))
        self.assertEqual((decoder.bits(), decoder.stats()["ber"]), (0, None))

    def test_malformed_burst_tags_are_counted_and_skipped(self):
        payloads = [bytes(range(20))]
        symbols, tags = symbols_and_tags(payloads, "qpsk")
        junk = np.full(40, 0.7 + 0.7j)
        bad_header = {"seq": 1, "modulation": "8psk", "length": 3}
        zero_length = {"seq": 2, "modulation": "qpsk", "length": 3}
        stream = np.concatenate([junk, junk, symbols])
        tags = [
            (0, "burst", pmt.to_pmt(bad_header)),
            (40, "burst", pmt.to_pmt(zero_length)),
            (40, "packet_len", pmt.from_long(0)),
        ] + [(offset + 80, key, value) for offset, key, value in tags]
        decoder, pdus = decode(stream, tags)
        stats = decoder.stats()
        self.assertEqual((stats["malformed"], stats["ignored_symbols"]), (2, 80))
        self.assertEqual([payload for _, payload in pdus], payloads)

    def test_bad_parameters_name_themselves(self):
        for seed in (-2, 1.5, True):
            with self.assertRaisesRegex(ValueError, "payload_seed"):
                burst_decoder(payload_seed=seed)


if __name__ == "__main__":
    gr_unittest.run(qa_burst_decoder)
