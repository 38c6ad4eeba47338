using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Restricted;
using InfoGpu.Training;

namespace InfoGpu.Host.Commands;

/// <summary><c>infogpu rbm export</c>: a trained RBM in scikit-learn's BernoulliRBM layout, as a NumPy .npz archive.</summary>
internal sealed class RbmExportCommand : ICommand
{
    public CommandSpec Spec { get; } = new(
        "rbm export",
        "write a trained RBM in scikit-learn's BernoulliRBM layout (components_, intercept_hidden_, intercept_visible_) as a NumPy .npz",
        "--model M --out FILE.npz [--overwrite] [--json]",
        [
            OptionSpec.File("model", "M", "a model.safetensors written by 'infogpu rbm train' (or its folder), or a safetensors file from another tool"),
            OptionSpec.File("out", "FILE", "the .npz to write (numpy.load opens it; see the README for setting a BernoulliRBM's attributes from it)"),
            OptionSpec.Flag("overwrite", "replace FILE when it exists (default: refuse)"),
        ],
        ["infogpu rbm export --model out/rbm --out rbm.npz"]);

    public int Run(CommandContext context)
    {
        var a = context.Args;
        string model = a.Require("model");
        string output = a.Require("out");
        if (Directory.Exists(model))
            model = Path.Combine(model, TrainingSession.CheckpointFile);
        if (!File.Exists(model))
            throw new InfoGpuException($"--model {model}: no such file; give a model.safetensors written by 'infogpu rbm train'");
        if (!output.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"--out {output}: give a file name ending in .npz");
        if (Directory.Exists(output))
            throw new InfoGpuException($"--out {output} is a folder; give a file name ending in .npz");
        if (File.Exists(output) && !a.Has("overwrite"))
            throw new InfoGpuException($"{output} exists; pass --overwrite to replace it");
        var rbm = RbmCheckpoint.LoadModel(model, out bool verified);
        if (!verified)
            context.Err.WriteLine($"note: {model} has no InfoGpu checksum (written by another tool): its tensors were read as they are, not verified");
        int nv = rbm.Visible, nh = rbm.Hidden;
        // InfoGpu keeps W as [visible, hidden]; scikit-learn's components_ is [hidden, visible].
        var components = new double[(long)nh * nv];
        for (int i = 0; i < nv; i++)
        {
            for (int j = 0; j < nh; j++)
                components[(long)j * nv + i] = rbm.Weights[(long)i * nh + j];
        }
        Npy.WriteNpz(output,
        [
            ("components_", components, [nh, nv]),
            ("intercept_hidden_", Array.ConvertAll(rbm.HiddenBias, x => (double)x), [nh]),
            ("intercept_visible_", Array.ConvertAll(rbm.VisibleBias, x => (double)x), [nv]),
        ]);
        if (a.Json)
            Json.Write(context.Out, new JsonObject { ["model"] = model, ["out"] = output, ["visible"] = nv, ["hidden"] = nh, ["verified"] = verified });
        else
            context.Out.WriteLine($"wrote {output}: components_ [{nh}, {nv}], intercept_hidden_ [{nh}], intercept_visible_ [{nv}] (float64)");
        return 0;
    }
}
