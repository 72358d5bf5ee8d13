"""Messages of a training run: the loop, saving, previews, stopping, the command line."""

TEXTS: dict[str, tuple[str, str]] = {
    "common.hint_prefix": ("怎么办：{hint}", "hint: {hint}"),
    # Words that are not ours (a library's exception text) where a message is expected.
    "common.text": ("{text}", "{text}"),
    # device and precision
    "run.no_gpu_bf16": (
        "没有找到 CUDA 显卡：在 CPU 上用 bf16 训练，会非常慢。",
        "No CUDA GPU found: training on the CPU in bf16. This is very slow.",
    ),
    "run.no_gpu_float32": (
        "没有找到 CUDA 显卡：在 CPU 上用 float32 训练（mixed_precision = {precision} 需要显卡），会非常慢。",
        "No CUDA GPU found: training in float32 on the CPU (mixed_precision = {precision} needs a GPU). "
        "This is very slow.",
    ),
    "run.no_bf16": ("这块显卡不支持 bf16，改用 fp16。", "This GPU has no bf16; using fp16 instead."),
    "run.no_bf16_hint": ('把 mixed_precision 设为 "fp16"。', 'Set mixed_precision = "fp16".'),
    "run.attention_xformers": ("注意力：xformers", "attention: xformers"),
    "run.xformers_missing": (
        "没有安装 xformers：改用 PyTorch 的 SDPA 注意力，同样省显存",
        "xformers is not installed: using PyTorch's SDPA attention, which saves memory the same way",
    ),
    # progress lines of train.log
    "run.loading_model": ("正在加载底模 {path}", "loading base model {path}"),
    "run.started_from_lora": ("从 {path} 接着训练（{count} 层）", "started from {path} ({count} layers)"),
    "run.resuming": ("从 {path} 的第 {step} 步接着训练", "resuming from {path} at step {step}"),
    "run.caching_latents": ("正在缓存 {count} 张图片的 latent", "caching latents of {count} images"),
    "run.saved": ("已保存 {path}", "saved {path}"),
    "run.saved_state": ("已保存训练状态 {path}", "saved training state {path}"),
    "run.pruned": ("已删除 {name}（只保留最近 {keep} 个）", "removed {name} (keeping the last {keep})"),
    "run.validation_line": (
        "验证 loss {loss:.4f}（第 {epoch} 轮，第 {step} 步，{images} 张留出的图片）",
        "validation loss {loss:.4f} (epoch {epoch}, step {step}, {images} held-out images)",
    ),
    "run.validation_none": (
        "validation_split = {split} 没有留出任何图片：每个训练文件夹的图片太少（按比例四舍五入是 0 张，"
        "或者文件夹里只有一张图片，要留着训练）。这次训练不计算验证 loss。",
        "validation_split = {split} holds no image out: each training folder has too few images (its share "
        "rounds to 0, or its only image must train). This run computes no validation loss.",
    ),
    "run.validation_none_hint": (
        "调大 validation_split，或者往训练文件夹里多放几张图片。",
        "Raise validation_split, or put more images in the training folders.",
    ),
    "run.rendering_previews": ("正在生成 {count} 张预览图", "rendering {count} preview images"),
    "run.step_line": (
        "第 {step}/{total} 步 第 {epoch} 轮 loss {loss:.4f} 平均 {avg:.4f} {speed:.2f} 步/秒",
        "step {step}/{total} epoch {epoch} loss {loss:.4f} avg {avg:.4f} {speed:.2f} it/s",
    ),
    # 炸炉
    "run.bad_preview_black": ("{name}（全黑）", "{name} (black)"),
    "run.bad_preview_flat": ("{name}（一片纯色）", "{name} (flat)"),
    "run.black_previews": (
        "预览图出黑图或一片纯色：{files}。这是教程说的“出黑图”，炸炉的迹象。",
        "Preview images came out black or flat: {files}. Black images are the tutorial's sign that the "
        "training is diverging.",
    ),
    "run.stopped_on_diverging": (
        "{reason} 因为打开了 stop_on_diverging，已停止训练。",
        "{reason} Stopped because stop_on_diverging is on.",
    ),
    "run.diverged_hint": (
        "loss 变成了 NaN/无穷大（炸炉）。降低学习率（unet_lr、text_encoder_lr），减少 repeat 或 epoch，或者用 bf16 "
        "代替 fp16 训练。丹炉的 VAE 已经始终用 float32（即 no_half_vae）。最后一个正常的模型文件已保留。",
        "The loss became NaN/infinite: the training diverged. Lower the learning rate (unet_lr, text_encoder_lr), use fewer repeats "
        "or epochs, or train in bf16 instead of fp16. Danlu already keeps the VAE in float32 (no_half_vae). The last "
        "good checkpoint is kept.",
    ),
    "run.loss_not_finite": (
        "第 {step} 步（第 {epoch} 轮）loss 变成了 {value}。",
        "The loss became {value} at step {step} (epoch {epoch}).",
    ),
    "run.grads_not_finite": ("第 {step} 步梯度变成了无穷大。", "The gradients became infinite at step {step}."),
    "run.not_saving_bad_weights": ("没有保存 {name}：{detail}。", "Not saving {name}: {detail}."),
    # stopping
    "run.by_signal": ("收到停止信号", "signal"),
    "run.by_request": ("网页上点了停止", "stop request"),
    "run.stopped_at": ("训练已在第 {step} 步停止（{reason}）。", "Training was stopped ({reason}) at step {step}."),
    "run.stopped_hint": (
        '当前的 LoRA 和训练状态都已保存；设置 resume = "<-state 文件夹>" 可以接着训练。',
        'The current LoRA and training state were saved; resume = "<the -state folder>" continues.',
    ),
    "run.stopped_by_user": ("训练已被手动停止。", "Training was stopped by the user."),
    "run.stopped_saved": ("当前的 LoRA 已保存。", "The current LoRA was saved."),
    # out of memory
    "run.out_of_memory": ("显存不足：{detail}", "Out of memory: {detail}"),
    # The same from PyTorch's CUDA message, its numbers in our words (its English stays in train.log).
    "run.out_of_memory_alloc": (
        "显存不足：再申请 {amount} 显存时失败。",
        "Out of memory: allocating {amount} more GPU memory failed.",
    ),
    "run.out_of_memory_alloc_free": (
        "显存不足：再申请 {amount} 显存时失败（这块显卡共 {total}，只剩 {free} 空闲）。",
        "Out of memory: allocating {amount} more GPU memory failed (the GPU has {total}, {free} of it free).",
    ),
    "run.memory_hint": (
        "显存不够。还没打开的省显存选项：{savers}。",
        "Not enough GPU memory. Memory savers not on yet: {savers}.",
    ),
    "run.saver_mixed_precision": ('mixed_precision = "fp16"（或 "bf16"）', 'mixed_precision = "fp16" (or "bf16")'),
    "run.saver_batch": (
        "train_batch_size = 1（配合 gradient_accumulation_steps = {batch}）",
        "train_batch_size = 1 (with gradient_accumulation_steps = {batch})",
    ),
    "run.saver_resolution": ("比 {width}x{height} 更低的分辨率", "a lower resolution than {width}x{height}"),
    "run.saver_dim": ("比 {dim} 更小的 network_dim", "a smaller network_dim than {dim}"),
    # the command line
    "run.settings_ignored": ("忽略 settings.json：{detail}", "settings.json ignored: {detail}"),
    "run.find_lr_one_gpu": (
        "--find-lr 只在一块显卡上运行；请去掉 --num-processes。",
        "--find-lr runs on one GPU; leave out --num-processes for it.",
    ),
    "run.finished": ("训练完成：{path}", "finished: {path}"),
    "run.unexpected_error": ("意外错误：", "unexpected error:"),
    "run.internal_error": ("丹炉内部错误：{detail}", "Danlu internal error: {detail}"),
    "run.internal_error_hint": (
        "这是丹炉的 bug。详细信息在 train.log 里，请把它报告给我们。",
        "This is a bug in Danlu. train.log has the details; please report it.",
    ),
    "run.second_signal": ("第二次收到停止信号：立即结束", "second stop signal: ending at once"),
    "run.stop_signal": (
        "收到停止请求（信号 {signal}）：这一步结束后保存并退出",
        "stop requested (signal {signal}): saving at the end of this step",
    ),
    "run.grace_over": (
        "停止请求后 {seconds} 秒内这一步没有结束：立即结束",
        "the step did not finish within {seconds} s of the stop request: ending at once",
    ),
    "run.cached_latents": ("已缓存 {count} 个 latent", "cached {count} latents"),
    "run.reused_latents": ("从硬盘缓存读取了 {count} 个 latent", "reused {count} cached latents from disk"),
    # the learning-rate finder (tutorial 三、如何利用DA优化器寻找一个最优的学习率)
    "run.lr_unsettled": (
        "{steps} 步后 d*lr 还没有走平；目前的值是 {value:.3g}",
        "d*lr had not settled after {steps} steps; {value:.3g} is where it stood",
    ),
    "run.lr_finder_stopped_hint": (
        "寻找学习率已停止；到目前为止的 d*lr 曲线已写入 lr_finder.json，可以参考，或重新寻找。",
        "The learning-rate search was stopped; the d*lr curve so far is in lr_finder.json to read, or search again.",
    ),
    "run.lr_settled": ("d*lr 在第 {steps} 步走平，值为 {value:.3g}", "d*lr settled at {value:.3g} after {steps} steps"),
}
