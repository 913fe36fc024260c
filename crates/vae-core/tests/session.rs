//! One training session for the trainer and the page: what a run shows, keeps and writes, and —
//! the refactor's guard — that a session steps bit for bit as the loops it replaced did (written
//! out here as references: the trainer's epochs on a cosine schedule, the page's live run).
#![cfg(feature = "train")]

use std::sync::{Mutex, MutexGuard};

use burn::module::Module;
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use vae_core::optim::FusedAdam;
use vae_core::pack::{DataPack, PackHeader, PackSplit};
use vae_core::session::{LOG_EVERY_STEPS, Plan, Session, Settings, TrainError, TrainingData};
use vae_core::train::{Learner, Objective, all_threads};
use vae_core::{IMAGE_PIXELS, Likelihood, Localized, ModelKind, Vae, VaeConfig, WeightsFile};

/// burn's flex device has one global random stream (seeded by `start`): tests that run in
/// parallel would draw from each other's, so each takes this lock first.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static DEVICE_RNG: Mutex<()> = Mutex::new(());
    DEVICE_RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A small pack of strokes, one position per class, so a few steps can learn something.
fn pack(train: usize, test: usize) -> DataPack {
    let split = |n: usize, offset: usize| {
        let mut images = vec![0u8; n * IMAGE_PIXELS];
        let labels: Vec<u8> = (0..n).map(|i| ((i + offset) % 10) as u8).collect();
        for (i, &label) in labels.iter().enumerate() {
            for t in 4..24 {
                images[i * IMAGE_PIXELS + t * 28 + 4 + 2 * label as usize] = 255;
            }
            images[i * IMAGE_PIXELS + (i * 7) % IMAGE_PIXELS] = 128; // some grey, for a Gaussian decoder
        }
        PackSplit { images, labels }
    };
    DataPack {
        header: PackHeader { dataset: "mnist".into(), train, test, source: "test".into() },
        train: split(train, 0),
        test: split(test, 3),
    }
}

fn live(train: usize, test: usize, settings: Settings) -> Session {
    Session::start(TrainingData::from(pack(train, test)), settings).expect("starts")
}

fn snapshot(session: &mut Session) -> WeightsFile {
    WeightsFile::from_bytes(&session.weights("live", |_| ()).expect("packs")).expect("reads back")
}

#[test]
fn live_training_lowers_the_test_loss_and_snapshots_load_as_weights() {
    let _serial = one_at_a_time();
    let mut live = live(256, 40, Settings::live(ModelKind::Vae, 1.0, 1e-3, 32, 7));
    let before = live.test_terms();
    let progress = live.steps(40).expect("finite steps");
    assert_eq!((progress.step, progress.epoch), (40, 5), "{progress:?}");
    let after = live.test_terms();
    assert!(after.recon + after.kl < before.recon + before.kl - 20.0, "{before:?} → {after:?}");
    let file = snapshot(&mut live);
    assert_eq!((file.meta.name.as_str(), file.meta.test_posteriors.len()), ("live", 40));
    file.load_model(&Device::flex()).expect("loads");
    assert!(live.test_codes().iter().all(|c| c[2] > 0.0 && c[3] > 0.0), "a VAE's codes have σ > 0");
}

#[test]
fn a_diverging_run_is_an_error_and_keeps_the_last_good_model() {
    let _serial = one_at_a_time();
    let mut live = live(128, 20, Settings::live(ModelKind::Vae, 1.0, 50.0, 32, 1));
    let mut result = live.steps(0).map(|_| ());
    for i in 0..50 {
        if i % 2 == 0 {
            live.test_terms(); // as the page's views do, now and then
        }
        result = live.step().map(|_| ());
        if result.is_err() {
            break;
        }
    }
    let err = result.expect_err("a learning rate of 50 diverges").to_string();
    assert!(err.contains("diverged") && err.contains("lower the learning rate"), "{err}");
    assert!(err.contains(&format!("the model of step {} ", live.step_count())), "the message names the step kept: {err}");
    let kept = live.test_terms();
    assert!(kept.recon.is_finite() && kept.kl.is_finite(), "{kept:?}");
    assert!(live.weights("live", |_| ()).is_ok(), "the kept model is finite, so it packs");
}

#[test]
fn snapshots_carry_the_training_log_with_each_change_of_beta() {
    let _serial = one_at_a_time();
    let mut live = live(64, 10, Settings::live(ModelKind::Vae, 1.0, 1e-3, 16, 3));
    live.steps(LOG_EVERY_STEPS + 5).expect("finite");
    live.set_hyperparameters(Objective::new(ModelKind::Vae, 4.0), 1e-3).expect("valid");
    live.steps(3).expect("finite");
    let file = snapshot(&mut live);
    let marks: Vec<(usize, f64)> = file.meta.training_log.iter().map(|e| (e.step, e.beta)).collect();
    let last = LOG_EVERY_STEPS + 8;
    assert_eq!(marks, [(LOG_EVERY_STEPS, 1.0), (LOG_EVERY_STEPS + 5, 1.0), (last, 4.0)], "{:?}", file.meta.training_log);
    assert!(file.meta.training_log.iter().all(|e| e.recon.is_finite() && e.kl > 0.0 && e.learning_rate == 1e-3));
}

#[test]
fn pausing_between_steps_changes_nothing() {
    let _serial = one_at_a_time();
    let zs = [0.0, 0.0, 1.5, -0.5, -2.0, 1.0];
    // What a run shows: its header (test figures, codes, log) and what it decodes.
    let outcome = |live: &mut Session| (snapshot(live).meta, vae_core::readout::decode_points(&live.shown(), &zs, live.device()));
    let whole = {
        let mut live = live(64, 10, Settings::live(ModelKind::Vae, 1.0, 1e-3, 16, 9));
        live.steps(7).expect("finite");
        outcome(&mut live)
    };
    let mut paused = live(64, 10, Settings::live(ModelKind::Vae, 1.0, 1e-3, 16, 9));
    for n in [2, 1, 4] {
        // What the page asks for while a run is paused.
        let _ = (paused.test_terms(), paused.test_codes(), paused.weights("live", |_| ()), paused.training_log());
        paused.steps(n).expect("finite");
    }
    assert!(outcome(&mut paused) == whole, "a run paused (views and snapshots taken) ended elsewhere");
}

#[test]
fn side_by_side_runs_start_from_the_same_weights_and_see_the_same_batches() {
    let _serial = one_at_a_time();
    let means = |live: &mut Session| live.test_codes().iter().map(|c| [c[0], c[1]]).collect::<Vec<_>>();
    let mut vae = live(64, 10, Settings::live(ModelKind::Vae, 1.0, 1e-3, 16, 11));
    let mut ae = live(64, 10, Settings::live(ModelKind::Ae, 1.0, 1e-3, 16, 11));
    assert_eq!(means(&mut vae), means(&mut ae), "the same seed must give both models the same initial encoder");
    let mut other = live(64, 10, Settings::live(ModelKind::Ae, 1.0, 1e-3, 16, 12));
    assert_ne!(means(&mut other), means(&mut ae), "another seed gives other weights");
    // The same batches, step after step, into a second pass over the 64 images (4 steps a pass).
    let mut taken = 0;
    for steps in [0, 1, 3, 5, 6] {
        for session in [&mut vae, &mut ae, &mut other] {
            session.steps(steps - taken).expect("finite steps");
        }
        taken = steps;
        let (a, b) = (vae.next_batch().expect("inside a pass"), ae.next_batch().expect("inside a pass"));
        assert_eq!(a, b, "after {steps} steps the VAE and the AE train on other images");
        assert_ne!(other.next_batch(), Some(a), "another seed shuffles otherwise");
    }
}

/// One error of each variant (checked in the test below).
fn one_of_each() -> Vec<TrainError> {
    vec![
        TrainError::Beta,
        TrainError::SigmaX,
        TrainError::LikelihoodChanged,
        TrainError::LearningRate,
        TrainError::BatchSize { max: 10 },
        TrainError::Diverged { failed_at: 3, loss: f64::NAN, kept: 2, learning_rate: 10.0 },
        TrainError::NotFinite { step: 3, recon: f64::NAN, kl: 1.0 },
        TrainError::Pack(vae_core::pack::PackError::Header("eof".into())),
        TrainError::Weights(vae_core::WeightsError::NonFinite("decoder.0.weight".into())),
    ]
}

/// Which variant an error is, by a match the compiler makes exhaustive: a new variant does not
/// build until it has an arm (and a number) here, and the test then fails until [`one_of_each`]
/// has one of it.
fn variant(err: &TrainError) -> usize {
    match err {
        TrainError::Beta => 0,
        TrainError::SigmaX => 1,
        TrainError::LikelihoodChanged => 2,
        TrainError::LearningRate => 3,
        TrainError::BatchSize { .. } => 4,
        TrainError::Diverged { .. } => 5,
        TrainError::NotFinite { .. } => 6,
        TrainError::Pack(_) => 7,
        TrainError::Weights(_) => 8,
    }
}

#[test]
fn every_training_error_has_its_english_page_message() {
    let catalogue = std::fs::read_to_string(format!("{}/../../{}", env!("CARGO_MANIFEST_DIR"), vae_core::message::ENGLISH_CATALOGUE))
        .expect("the catalogue is readable");
    let errors = one_of_each();
    let covered: std::collections::BTreeSet<usize> = errors.iter().map(variant).collect();
    assert_eq!(covered, (0..=8).collect(), "one sample of each variant, numbered 0 to the last arm of `variant`");
    for err in errors {
        if let Err(problem) = vae_core::message::check_against_catalogue(&catalogue, &err.page_message()) {
            panic!("“{err}”: {problem}");
        }
    }
}

#[test]
fn settings_are_checked() {
    let _serial = one_at_a_time();
    let start = |settings| Session::start(TrainingData::from(pack(64, 10)), settings).map(|_| ());
    assert_eq!(start(Settings::live(ModelKind::Ae, 1.0, 0.0, 32, 1)), Err(TrainError::LearningRate));
    assert_eq!(start(Settings::live(ModelKind::Vae, f64::NAN, 1e-3, 32, 1)), Err(TrainError::Beta));
    assert_eq!(start(Settings::live(ModelKind::Vae, 1.0, 1e-3, 65, 1)), Err(TrainError::BatchSize { max: 64 }));
    let gaussian = Objective::new(ModelKind::Vae, 1.0).with_likelihood(Likelihood::gaussian(0.0));
    assert_eq!(start(Settings { objective: gaussian, ..Settings::live(ModelKind::Vae, 1.0, 1e-3, 32, 1) }), Err(TrainError::SigmaX));
}

/// Every parameter of `model`, in order, as bits.
fn bits(model: &Vae) -> Vec<u32> {
    let layers = model.encoder.iter().chain([&model.enc_mu, &model.enc_logvar]).chain(&model.decoder);
    layers
        .flat_map(|l| [l.weight.val().into_data(), l.bias.as_ref().expect("biases").val().into_data()])
        .flat_map(|d| d.try_to_vec::<f32>().expect("f32"))
        .map(f32::to_bits)
        .collect()
}

/// The page's loop before the session (crates/vae-train-wasm, 2026-12): one stream from the seed,
/// reshuffled in place at the end of each pass, a constant learning rate that may change.
fn live_reference(
    data: &TrainingData,
    objective: Objective,
    changes: &[(usize, Objective, f64)],
    lr: f64,
    batch: usize,
    seed: u64,
    steps: usize,
) -> Vae {
    let device = Device::flex();
    device.seed(seed);
    let model = VaeConfig::new().init(&device.clone().autodiff());
    // burn initialises a parameter at its first use: the page's loop used them all here first
    // (its last good model), in module order.
    let _first_use = model.valid();
    let mut learner = Learner::new(model, FusedAdam::default().init(), objective, 1);
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..data.train.len() / IMAGE_PIXELS).collect();
    order.shuffle(&mut rng);
    let (mut cursor, mut lr) = (0, lr);
    for step in 0..steps {
        if let Some(&(_, objective, rate)) = changes.iter().find(|c| c.0 == step) {
            learner.set_objective(objective);
            lr = rate;
        }
        if cursor + batch > order.len() {
            order.shuffle(&mut rng);
            cursor = 0;
        }
        learner.step(&data.train, &order[cursor..cursor + batch], &mut rng, lr);
        cursor += batch;
    }
    learner.model().valid()
}

/// The trainer's loop before the session (trainer/src/run.rs, 2026-12): each epoch's streams
/// seeded by (seed, epoch), every core, cosine decay to a tenth over the run.
fn epochs_reference(data: &TrainingData, objective: Objective, lr: f64, batch: usize, seed: u64, epochs: usize) -> Vae {
    let device = Device::flex();
    device.seed(seed);
    let model = VaeConfig::new().init(&device.clone().autodiff());
    let mut learner = Learner::new(model, FusedAdam::default().init(), objective, all_threads());
    let n = data.train.len() / IMAGE_PIXELS;
    let steps = n / batch;
    for epoch in 1..=epochs {
        let epoch_seed = seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut rng = SmallRng::seed_from_u64(epoch_seed);
        device.seed(epoch_seed);
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        for (step, chunk) in order.chunks_exact(batch).enumerate() {
            let progress = ((epoch - 1) * steps + step) as f64 / (steps * epochs) as f64;
            let floor = lr / 10.0;
            let rate = floor + 0.5 * (lr - floor) * (1.0 + (core::f64::consts::PI * progress).cos());
            learner.step(&data.train, chunk, &mut rng, rate);
        }
    }
    learner.model().valid()
}

#[test]
fn a_live_session_steps_bit_for_bit_as_the_pages_loop_did() {
    let _serial = one_at_a_time();
    for likelihood in [Likelihood::Bernoulli, Likelihood::gaussian(0.3)] {
        let objective = Objective::new(ModelKind::Vae, 1.0).with_likelihood(likelihood);
        let changed = objective.with_betas(0.5, 2.0);
        let data = TrainingData::from(pack(100, 10));
        let mut session =
            Session::start(data.clone(), Settings { objective, ..Settings::live(ModelKind::Vae, 1.0, 2e-3, 24, 5) }).expect("starts");
        session.steps(13).expect("finite");
        session.test_terms();
        session.set_hyperparameters(changed, 1e-3).expect("valid");
        session.steps(9).expect("finite");
        session.step().expect("finite"); // the page shows the model one step behind
        let reference = live_reference(&data, objective, &[(13, changed, 1e-3)], 2e-3, 24, 5, 22);
        assert!(bits(&session.shown()) == bits(&reference), "{likelihood:?}: the live session left the page's old loop");
    }
}

#[test]
fn an_epochs_session_steps_bit_for_bit_as_the_trainers_loop_did() {
    let _serial = one_at_a_time();
    for likelihood in [Likelihood::Bernoulli, Likelihood::gaussian(0.2)] {
        let objective = Objective::new(ModelKind::Vae, 1.0).with_likelihood(likelihood).with_betas(0.5, 2.0);
        let data = TrainingData::from(pack(96, 10));
        let settings = Settings { objective, plan: Plan::Epochs(3), ..Settings::live(ModelKind::Vae, 1.0, 1e-3, 20, 42) };
        let mut session = Session::start(data.clone(), settings).expect("starts");
        for _ in 0..3 {
            session.steps(session.steps_per_epoch()).expect("finite");
            session.test_terms(); // the trainer evaluates after every epoch
        }
        let reference = epochs_reference(&data, objective, 1e-3, 20, 42, 3);
        assert!(bits(&session.shown()) == bits(&reference), "{likelihood:?}: the epochs session left the trainer's old loop");
        let log = session.training_log();
        assert_eq!(log.iter().map(|e| (e.step, e.epoch)).collect::<Vec<_>>(), [(4, 1), (8, 2), (12, 3)], "one entry per epoch");
        assert!(log[2].learning_rate < log[0].learning_rate && log[2].learning_rate > 1e-4, "cosine decay towards a tenth: {log:?}");
    }
}

#[test]
fn a_resumed_session_ends_where_the_uninterrupted_one_does() {
    let _serial = one_at_a_time();
    let data = TrainingData::from(pack(96, 10));
    let settings = Settings { plan: Plan::Epochs(3), ..Settings::live(ModelKind::Vae, 1.0, 1e-3, 20, 8) };
    let mut whole = Session::start(data.clone(), settings.clone()).expect("starts");
    whole.steps(2 * whole.steps_per_epoch()).expect("finite");
    let (model, optimizer, log) = (whole.learner().model().clone(), whole.learner().optimizer().clone(), whole.training_log());
    whole.steps(whole.steps_per_epoch()).expect("finite");
    let mut resumed = Session::start(data, settings).expect("starts");
    resumed.resume(2, model, optimizer, log).expect("resumes");
    resumed.steps(resumed.steps_per_epoch()).expect("finite");
    assert!(bits(&resumed.shown()) == bits(&whole.shown()), "the resumed run ended elsewhere");
    assert_eq!(resumed.training_log(), whole.training_log());
}
