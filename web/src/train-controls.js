// train-controls.js — the training panel's loss controls set as a preset would set them: by the
// panel's own "sheet's loss" button and by the lesson's runs.

import { $ } from './dom.js';

/** The sheet's own loss, ‖x − x′‖² + KL: a Gaussian decoder with 2σₓ² = 1, both pulls at 1. */
export const SHEET_LOSS = { likelihood: 'gaussian', sigmaMode: 'fixed', sigmaX: String(Number(Math.SQRT1_2.toPrecision(3))), beta: '1' };

/**
 * Sets the training controls (each given field) as a preset would: the likelihood, σₓ, β (both
 * pulls) or each pull on its own. Changes that a run takes on the fly go to it.
 * @param {{likelihood?: string, sigmaMode?: string, sigmaX?: string, beta?: string, betaMean?: string, betaVar?: string}} preset
 */
export function setTrainingControls(preset) {
  const set = (id, value) => { if (value !== undefined) /** @type {HTMLInputElement} */ ($(id)).value = value; };
  set('train-likelihood', preset.likelihood);
  set('train-sigma-mode', preset.sigmaMode);
  set('train-sigma-x', preset.sigmaX);
  set('train-beta', preset.beta);
  set('train-beta-mean', preset.betaMean ?? preset.beta);
  set('train-beta-var', preset.betaVar ?? preset.beta);
  $('train-beta-var').dispatchEvent(new Event('change'));
}
