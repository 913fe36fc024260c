// messages-en.js — the English message catalogue (web/i18n/fa.js holds the Persian one, with the
// same keys; tests/browser/lesson.test.mjs fails when the two differ or a key is unused).
// Marks: {{en:…}} an English term (used beside Persian ones), {{ltr:…}} a formula kept
// left-to-right, {{step:N}} a link to lesson step N; {name} a value filled in by the page. The glossary is docs/glossary.md.

/** @type {Record<string, string>} */
export const EN = {
  'lang.label': 'Language',
  'page.lede': 'A variational autoencoder trained on MNIST squeezes every digit into two numbers, {{ltr:z = (z₁, z₂)}}. Drag the point over the plane: the decoder turns each point into an image. The grey rings are the prior {{ltr:N(0, I)}} at 1σ, 2σ and 3σ — the region the KL term pulls every code into, which is why points close together decode alike and almost any point decodes to a digit.',
  'controls.model': 'Model',
  'controls.layers': 'Layers',
  'layer.prior': 'prior N(0, I)',
  'layer.grid': 'manifold grid',
  'layer.scatter': 'encoded test digits',
  'layer.aggregate': 'aggregate posterior vs prior',
  'layer.continuity': 'continuity',
  'compare.heading': 'Same z, every model',
  'interpolation.heading': 'Interpolate',
  'sampling.button': 'Sample z ~ N(0, I)',
  'training.heading': 'Train in the page',

  'lesson.start': 'Guided lesson: why a VAE can generate',
  'lesson.region': 'Lesson',
  'lesson.progress': 'Step {n} of {count}',
  'lesson.prev': 'Back',
  'lesson.next': 'Next',
  'lesson.close': 'Close the lesson',
  'lesson.run': 'Run it',
  'lesson.label.try': 'Try this:',
  'lesson.label.notice': 'What to notice:',
  'lesson.label.ex1': 'Exercise 1:',
  'lesson.label.ex2': 'Exercise 2:',
  'lesson.figure.pending': 'The figures appear once the models have loaded.',
  'lesson.step-link': 'step {n}',
  'lesson.example-name': 'the lesson’s 3',

  'lesson.encoder.title': 'Encoder, decoder and reconstruction',
  'lesson.encoder.text': 'An autoencoder has two halves. The encoder squeezes a 28×28 image (784 numbers) into a point z of a two-dimensional latent space; the decoder turns any point z back into an image. Training makes {{ltr:decoder(encoder(x))}} look like x: that is the reconstruction term of the loss. The plane shows the latent space; the big image beside it is what the decoder draws for the point you hold.',
  'lesson.encoder.try': 'Drag the point across the plane and watch the decoded image change. Further down, a 3 has been encoded: compare the preprocessed input with its reconstruction.',
  'lesson.encoder.notice': 'The decoder draws something for every point you visit, and the encoder sent the 3 to one region of the plane.',
  'lesson.encoder.figure': 'Reconstruction term of this 3: {{ltr:{recon}}} nats (lower means more faithful).',

  'lesson.holes.title': 'Why a plain autoencoder cannot generate',
  'lesson.holes.text': 'A plain autoencoder is trained on reconstruction alone. It has enough freedom to give every training image its own exact point, anywhere it likes: its latent space is irregular, the codes spread far beyond the prior\'s rings in clumps with empty space between them. Nothing tells it what to draw for a point where no image was encoded.',
  'lesson.holes.try': 'The dots are the encoded test digits of the AE. Sixteen points drawn from {{ltr:N(0, I)}} are decoded under “Sample z ~ N(0, I)”: look at the AE\'s sheet.',
  'lesson.holes.notice': 'Many of the AE\'s prior samples are blurs or blends of two digits: those points fall into holes of its latent space. To generate, a model must know where the meaningful points are.',
  'lesson.holes.figure': 'Mean squared distance of the AE\'s test codes from the origin, {{ltr:mean ‖μ‖²}} = {{ltr:{ae}}} (for codes spread like {{ltr:N(0, I)}} it is 2).',

  'lesson.distribution.title': 'A VAE encodes a distribution',
  'lesson.distribution.text': 'A VAE\'s encoder outputs two vectors for each image, a mean μ and a standard deviation σ: the image is encoded not as a point but as the normal distribution {{ltr:N(μ, σ²)}}, drawn as the dashed ellipses (1σ and 2σ). In training the decoder gets a random sample {{ltr:z = μ + σ ⊙ ε}} with {{ltr:ε ~ N(0, I)}} (the reparameterisation trick), so it must decode a whole neighbourhood of μ well, not just one point.',
  'lesson.distribution.try': 'Draw a digit in the drawing box, or upload one, and watch its ellipse and its eight sampled points (the dots inside it) move.',
  'lesson.distribution.notice': 'Every sample inside the ellipse decodes to the same digit: a region of the plane, not a point, stands for the image.',
  'lesson.distribution.figure': 'For the encoded image: {{ltr:μ = ({mu})}}, {{ltr:σ = ({sigma})}}.',

  'lesson.kl.title': 'What the KL term does',
  'lesson.kl.text': 'The second term of the loss is {{ltr:KL(q(z|x) ‖ p(z))}}, the Kullback–Leibler divergence from each image\'s {{ltr:N(μ, σ²)}} to the standard normal distribution {{ltr:N(0, I)}}. It pulls every mean μ towards 0, so the encodings do not drift apart, and every σ towards 1, so no distribution collapses to a single point. β multiplies this term: the β = 4 model feels the pull four times as strongly.',
  'lesson.kl.try': 'Switch the model between vae-beta4, vae and ae, and compare where their dots lie.',
  'lesson.kl.notice': 'The larger β, the more the codes crowd into the prior\'s disk (and the blurrier the digits); without the KL term, the AE\'s codes wander furthest.',
  'lesson.kl.figure': '{{ltr:mean ‖μ‖²}} of the test codes: β = 4 {{ltr:{beta4}}}, β = 1 {{ltr:{beta1}}}, AE {{ltr:{ae}}} (N(0, I): 2).',

  'lesson.live.title': 'Watch the KL term at work',
  'lesson.live.text': 'Now train from random weights, in this page: a VAE and a plain AE start from the same weights and see the same batches, so the only difference between them is the KL term. Under the loss chart their test codes and prior samples appear side by side.',
  'lesson.live.try': 'Press “Run it” and watch for a minute. You can go on exploring meanwhile: training runs in the background.',
  'lesson.live.notice': 'Within a few hundred steps the VAE\'s codes gather inside the rings and its prior samples turn into digits, while the AE\'s codes spread out and most of its samples stay blurs.',

  'lesson.diagonal.title': 'Why a Gaussian with a diagonal covariance',
  'lesson.diagonal.text': 'With {{ltr:q(z|x) = N(μ, diag σ²)}} and {{ltr:p(z) = N(0, I)}} the KL term has a closed form, {{ltr:KL = ½ Σᵢ (μᵢ² + σᵢ² − 1 − ln σᵢ²)}}: no sampling is needed to compute it, and its gradient is exact. Sampling is cheap and differentiable: {{ltr:z = μ + σ ⊙ ε}}. A diagonal covariance also means axis-aligned ellipses, two numbers per latent dimension. A full covariance would need {{ltr:d(d+1)/2}} numbers per image, a Cholesky factor to sample and a log-determinant in the KL.',
  'lesson.diagonal.try': 'Look at the ellipse of the 3 on the plane: its axes are parallel to z₁ and z₂.',
  'lesson.diagonal.notice': 'The KL of an image is a handful of arithmetic operations on its μ and σ, which is why every training step can afford it exactly.',
  'lesson.diagonal.figure': 'For this image: {{ltr:μ = ({mu})}}, {{ltr:σ = ({sigma})}}, so {{ltr:KL = {kl}}} nats by the formula above.',

  'lesson.reconstruction.title': 'The reconstruction term alone',
  'lesson.reconstruction.text': 'The first term, {{ltr:E_q[log p(x|z)]}}, rewards decoding each image exactly from its samples. On its own it pushes σ towards 0 (a point is the most precise code) and lets the means go wherever reconstruction is easiest: the encoding–decoding scheme becomes as precise as possible, and the latent space loses its regularity.',
  'lesson.reconstruction.try': 'Press “Run it” to train a VAE with β = 0.01, or drag β towards 0 while a run goes on.',
  'lesson.reconstruction.notice': 'The σ ellipses shrink to dots and the codes spread apart: the model behaves more and more like a plain autoencoder.',

  'lesson.properties.title': 'Continuity and completeness',
  'lesson.properties.text': 'The KL term gives the latent space two properties. Continuity: two close points decode to similar content. Completeness: any point sampled from the prior decodes to something meaningful. The orange map shows where the decoded image changes fastest; the prior samples test completeness.',
  'lesson.properties.try': 'Drag slowly across the plane with vae, then with ae, and press “Sample z ~ N(0, I)” a few times.',
  'lesson.properties.notice': 'The VAE changes evenly and its samples are digits; the AE swaps digits across short distances (bright seams) and many of its samples are no digit at all.',

  'lesson.summary.title': 'Answers to the two exercises',
  'lesson.summary.ex1': 'A VAE encodes each input as a distribution, and its KL term keeps all of them close to {{ltr:N(0, I)}}, so the region the prior covers is filled with overlapping codes: sampling {{ltr:z ~ N(0, I)}} and decoding gives new data ({{step:3}}, {{step:4}}, {{step:5}}). A plain autoencoder learns points with nothing to place them, so a random point often falls into a hole ({{step:2}}).',
  'lesson.summary.ex2': 'The KL term regularises: it pulls μ towards 0 and σ towards 1, which makes the latent space continuous and complete ({{step:4}}, {{step:8}}). Normal distributions with a diagonal covariance give a closed-form KL and cheap, differentiable sampling ({{step:6}}). The reconstruction term makes the encoding precise; alone, it shrinks σ to points and scatters the codes ({{step:7}}).',
};
