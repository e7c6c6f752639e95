"""Every default of ganjax in one place.

An experiment file imports :func:`get_config` and changes only what differs, so that a recipe reads as a
handful of lines. Every key any part of ganjax reads is declared here (the config is locked), so a typo in a
command-line override is an error rather than a silently ignored setting.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0
    # jax.profiler trace of this many steps after the first (compiled) one, into WORKDIR/profile (0 = off)
    c.profile_steps = 0

    # What to train on; see ganjax/data. 'ring' and 'grid' are the 2-D toy mixtures.
    c.data = ml_collections.ConfigDict()
    c.data.name = 'ring'
    c.data.num_modes = 8  # ring: number of Gaussians on the circle
    c.data.radius = 1.0  # ring: circle radius
    c.data.std = 0.01  # toy: standard deviation of each Gaussian
    c.data.spacing = 2.0  # grid: distance between neighbouring means; grid side = sqrt(num_modes)
    c.data.split = 'train'  # TFDS split
    c.data.data_dir = ''  # TFDS data_dir ('' = TFDS default)
    c.data.path = ''  # local files: .npz, idx(.gz) files or an image folder
    c.data.image_size = 0  # resize/center-crop to this size (0 = keep)
    c.data.channels = 0  # 1 or 3 to convert; 0 = keep
    c.data.random_flip = False
    c.data.conditional = False  # feed class labels to G and D
    c.data.num_classes = 0  # set from the data when 0 and conditional
    c.data.max_examples = 0  # cap on examples read (0 = all)
    c.data.prefetch = 2  # steps assembled ahead in a background thread (0 = inline)
    c.data.download = True  # TFDS: download and prepare a dataset that is not in data_dir (needs network)
    # translation: '' (an ordinary image dataset) | 'paired' | 'unpaired' (ganjax/data/paired.py): batches then
    # hold an input image 'a' beside the target 'x'; data.name 'edges_fashion' builds edges<->Fashion-MNIST
    c.data.pairing = ''
    c.data.load_size = 0  # translation: resize to this before a random data.image_size crop (0 = no crop jitter)
    c.data.direction = 'AtoB'  # translation: 'AtoB' | 'BtoA' (which side of a pair is the input)

    # The game: which networks train how (ganjax/games). 'adversarial' (G against D, with the loss and
    # penalty below) or the dotted path of a module with a build(config, spec, axis_name) function.
    c.game = ml_collections.ConfigDict()
    c.game.name = 'adversarial'
    c.game.categorical = 10  # infogan: values of the categorical code (0 = none)
    c.game.continuous = 2  # infogan: continuous codes, uniform on [-1, 1]
    c.game.info_weight = 1.0  # infogan: weight of the information loss

    # Networks; see ganjax/models. Names resolve through ganjax.models.get_models.
    c.model = ml_collections.ConfigDict()
    c.model.name = 'mlp'
    c.model.latent_dim = 2
    c.model.latent_dist = 'normal'  # 'normal' | 'uniform' ([-1, 1])
    c.model.width = 128  # MLP hidden width / base channel width of conv nets
    c.model.depth = 3  # MLP hidden layers
    c.model.g_batch_norm = True  # conv generators: batch norm after each hidden layer
    c.model.d_batch_norm = False  # conv discriminators: batch norm (not with gradient penalties)
    c.model.d_spectral_norm = False  # mlp/dcgan/resnet discriminators: spectral norm (Miyato et al. 2018)
    c.model.g_spectral_norm = False  # resnet, dcgan generators: spectral norm (SAGAN, BigGAN)
    c.model.attention = 0  # resnet, dcgan: self-attention on the feature maps of this resolution (0 = none)
    c.model.g_conditioning = 'concat'  # resnet, with classes: 'concat' (one-hot to z) | 'cbn' (conditional BN)
    c.model.aux_classifier = False  # resnet, dcgan, with classes: D's class head (AC-GAN) instead of projection
    c.model.dense = 0  # dcgan: a hidden dense layer of this many units in G and D (InfoGAN's 1024)
    c.model.conv_impl = 'auto'  # how strided/transposed convs are lowered; see models/layers.py
    # compute dtype: 'float32' | 'bfloat16' (parameters, optimiser states and losses stay float32)
    c.model.dtype = 'float32'

    # Style-based and progressive generators (ganjax/games/stylegan2.py, stylegan.py, progan.py,
    # ganjax/models/style.py): ProGAN, StyleGAN, StyleGAN2, StyleGAN3. model.width is the channel width.
    c.style = ml_collections.ConfigDict()
    c.style.w_dim = 512  # width of the intermediate latent w
    c.style.mapping_layers = 8  # dense layers of the mapping network z -> w (StyleGAN2-ADA CIFAR: 2)
    c.style.mapping_lr_mul = 0.01  # learning-rate multiplier of the mapping network (equalised LR)
    c.style.w_avg_beta = 0.995  # decay of the tracked average of w that truncation pulls towards
    c.style.mixing_prob = 0.9  # probability that a fake batch mixes the styles of two latents
    c.style.r1_gamma = 10.0  # R1 weight gamma (penalty gamma/2 * E|grad D(x)|^2 on reals; 0 = off)
    c.style.r1_every = 16  # lazy R1: every k steps, scaled by k
    c.style.pl_weight = 2.0  # path-length regularisation weight (0 = off)
    c.style.pl_every = 4  # lazy path-length regularisation: every k steps, scaled by k
    c.style.pl_decay = 0.01  # path-length running mean moves this fraction towards each batch mean
    c.style.pl_batch_shrink = 2  # path-length regularisation runs on batch // this latents
    c.style.mbstd_group = 4  # minibatch standard deviation group size in the discriminator
    c.style.modconv_form = 'auto'  # modulated conv: 'grouped' | 'fused' | 'auto' (per backend; models/style.py)
    c.style.stage_steps = 1000  # progan: steps of each fade-in and each stable phase per resolution stage
    c.style.drift = 0.001  # progan: drift term weight eps_drift * E[D(x)^2] on reals

    # Adversarial loss and regularisers; see ganjax/losses.py and ganjax/penalties.py.
    c.loss = ml_collections.ConfigDict()
    c.loss.name = 'non_saturating'
    c.loss.label_smoothing = 0.0  # one-sided: real targets become 1 - label_smoothing
    c.loss.aux_weight = 1.0  # AC-GAN: weight of the class cross-entropy when D has a 'cls' head
    # AC-GAN: D's class head learns from fake examples too (the paper); False: from real ones only, so
    # that G is steered by a classifier of real data rather than by one it helps to train
    c.loss.aux_fake = True

    c.penalty = ml_collections.ConfigDict()
    c.penalty.name = 'none'  # 'none' | 'wgan_gp' | 'wgan_gp_one_sided' | 'r1' | 'r2' | 'dragan'
    c.penalty.weight = 10.0  # lambda (GP, DRAGAN) or gamma (R1/R2: gamma/2 * E|grad|^2)
    c.penalty.target = 1.0  # gradient norm target for GP/DRAGAN
    c.penalty.every = 1  # lazy regularisation: apply every k critic steps, scaled by k
    c.penalty.dragan_c = 0.5  # DRAGAN perturbation scale, in units of the batch's std
    c.penalty.g_orthogonal = 0.0  # BigGAN: weight of G's off-diagonal orthogonal regularisation (1e-4)

    # Image-to-image translation games (ganjax/games/pix2pix.py, ganjax/games/cyclegan.py).
    c.translation = ml_collections.ConfigDict()
    c.translation.gan_weight = 1.0  # pix2pix: weight of the adversarial term (0 = the L1-only U-Net, no D)
    c.translation.l1_weight = 100.0  # pix2pix: lambda of the L1 term |G(a) - b|
    c.translation.cycle_weight = 10.0  # cyclegan: lambda of each cycle-consistency term
    c.translation.identity_weight = 0.5  # cyclegan: identity loss weight, as a fraction of cycle_weight
    c.translation.pool_size = 50  # cyclegan: history of generated images D sees (0 = latest only)
    c.translation.dropout = 0.5  # pix2pix: U-Net decoder dropout rate (the generator's noise)
    c.translation.patch_layers = 3  # PatchGAN stride-2 layers: 3 -> 70x70 receptive field, 1 -> 16x16
    c.translation.resnet_blocks = 9  # cyclegan: residual blocks of the ResNet generator (9 at 256px, 6 at 128px)

    c.train = ml_collections.ConfigDict()
    c.train.num_steps = 1000  # generator steps
    c.train.batch_size = 256  # global batch per discriminator step
    c.train.d_steps = 1  # discriminator (critic) updates per generator update
    c.train.critic_loop = 'auto'  # 'unroll' | 'scan' | 'auto' (see ganjax/step.py)
    c.train.optimizer = 'adam'  # 'adam' | 'rmsprop' | 'sgd'
    c.train.g_lr = 2e-4
    c.train.d_lr = 2e-4  # TTUR: set different rates for G and D
    # 'constant' | 'linear' | 'cosine' (decay to 0 at num_steps) | 'constant_then_linear' (the first half
    # constant, then linear to 0: CycleGAN, Pix2Pix)
    c.train.lr_schedule = 'constant'
    c.train.b1 = 0.5
    c.train.b2 = 0.999
    c.train.weight_clip = 0.0  # WGAN: clip D params to [-c, c] after each update (0 = off)
    c.train.ema_decay = 0.999  # EMA of generator params (0 = off: EMA tracks params exactly)
    c.train.ema_start = 0  # before this step the EMA copies the params
    c.train.on_nonfinite = 'stop'  # 'stop' | 'skip'
    c.train.log_every = 500

    c.eval = ml_collections.ConfigDict()
    c.eval.num_samples = 2500
    c.eval.fid_every_steps = 0  # image data: FID of the EMA generator every N steps and at the end (0 = off)
    c.eval.inception_weights = ''  # FID Inception weights file ('' = $GANJAX_INCEPTION_WEIGHTS, then cache)
    # a picture of samples every N steps, to TensorBoard and WORKDIR/samples_<step>.png (0 = off)
    c.eval.image_every_steps = 0

    # Stabilisers against mode collapse and instability (ganjax/stabilisers.py, ganjax/augment.py,
    # ganjax/models/stabilisers.py): options of the adversarial game, each off by default.
    c.stabilise = ml_collections.ConfigDict()
    # weight of G's feature matching ||E f(x) - E f(G(z))||^2 on D's last hidden layer (Salimans et al. 2016)
    c.stabilise.feature_matching = 0.0
    # mlp/dcgan D: minibatch discrimination kernels B (Salimans et al. 2016; 0 = off)
    c.stabilise.minibatch_kernels = 0
    c.stabilise.minibatch_kernel_dim = 5  # minibatch discrimination: kernel dimension C (Salimans et al. 2016)
    # mlp/dcgan D: minibatch standard deviation over groups of this size (Karras et al. 2018; 0 = off)
    c.stabilise.minibatch_stddev = 0
    # weight of ||theta - mean of past theta||^2 for G and D: historical averaging (Salimans et al. 2016)
    c.stabilise.historical_averaging = 0.0
    # mlp/dcgan G: virtual batch norm on a fixed reference batch of this many latents (Salimans et al. 2016)
    c.stabilise.virtual_batch_norm = 0
    c.stabilise.unrolled_steps = 0  # G's loss through k D optimiser steps: unrolled GAN (Metz et al. 2017)
    # fraction of D's fake batch drawn from a buffer of past fakes: experience replay (Pfau & Vinyals 2016)
    c.stabilise.replay_fraction = 0.0
    c.stabilise.replay_size = 0  # experience replay: past generated samples kept (Pfau & Vinyals 2016)
    c.stabilise.pack = 1  # D judges m samples concatenated: PacGAN packing (Lin et al. 2018; 1 = off)
    c.stabilise.mode_seeking = 0.0  # weight of the mode-seeking term 1/(ratio + eps) (Mao et al. 2019)
    # bCR weight (lambda_real = lambda_fake; 10 in the paper): consistency regularisation (Zhao et al. 2021)
    c.stabilise.consistency = 0.0
    # bCR's T mirrors as well as translates, as in the paper; False for data whose mirror is no example (digits)
    c.stabilise.consistency_flip = True
    # DiffAugment policy, e.g. 'color,translation,cutout' (Zhao et al. 2020; '' = off)
    c.stabilise.diffaugment = ''
    c.stabilise.ada_target = 0.0  # ADA target of E sign(D(real)) (Karras et al. 2020: 0.6; 0 = off)
    c.stabilise.ada_interval = 4  # ADA: adjust p every N discriminator updates (Karras et al. 2020: 4)
    c.stabilise.ada_kimg = 500.0  # ADA: thousands of images for p to go 0 -> 1 (Karras et al. 2020: 500)
    # model projected: D's frozen feature network, 'inception' (FID net's stem) | 'random' (Sauer et al. 2021)
    c.stabilise.projected_features = 'inception'

    c.parallel = ml_collections.ConfigDict()
    c.parallel.mode = 'single'  # 'single' | 'sharded' | 'pmap'
    c.parallel.multi_host = False  # call jax.distributed.initialize() (TPU pod slices, multi-node GPU)

    c.checkpoint = ml_collections.ConfigDict()
    # every N steps and at the end (0 = never); a save costs ~15 ms of the loop's time on a 2-core CPU
    c.checkpoint.every_steps = 1000
    c.checkpoint.keep = 3

    c.lock()
    return c
