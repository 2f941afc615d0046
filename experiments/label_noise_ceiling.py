"""How much of NB201's ranking is label noise? Ceilings for any predictor that scores graphs, not training runs.

NB201 lists 15,625 cell strings but only 6,466 isomorphism classes (``UniqueString`` in the bundled labels): cells
that compute the same function were trained separately, so their accuracies differ by training noise alone. A
predictor that gives equal networks equal scores can at best predict a class's mean. This prints, over the unique
graphs of the store (the in-space protocol's test population):

- Kendall / Spearman of each graph's accuracy with its class's mean over the *other* members (leave-one-out), for
  graphs whose class has other members: what a perfect function-level predictor would reach on them;
- Kendall between the 200-epoch CIFAR-10 test label and the 200-epoch validation label of the same networks.

    .venv/bin/python experiments/label_noise_ceiling.py --store runs/bench-v3
"""

from __future__ import annotations

import argparse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--data", default=None, help="label data folder (default: onnxnet's, ../shared/data)")
    args = ap.parse_args()

    import pandas as pd
    from scipy.stats import kendalltau, spearmanr

    from onnxnet.bench.store import BenchStore
    from onnxnet.config import data_dir

    labels = pd.read_csv(data_dir(args.data) / "nb201" / "nb201_cifar10_200ep_test.csv")
    rows = BenchStore(args.store).read(spaces=["nb201"], columns=["id", "arch", "graph_hash", "accuracy",
                                                                  "label:cifar10_val_200ep"])
    rows = rows.merge(labels[["ArchitectureString", "UniqueString"]], left_on="arch", right_on="ArchitectureString",
                      how="left")
    rows = rows[rows["accuracy"].notna() & rows["UniqueString"].notna()]
    grouped = rows.groupby("UniqueString")["accuracy"]
    total, count = grouped.transform("sum"), grouped.transform("count")
    rows = rows.assign(loo=(total - rows["accuracy"]) / (count - 1), members=count)
    unique = rows.drop_duplicates("graph_hash")
    multi = unique[unique["members"] > 1]
    print(f"{len(rows)} labelled NB201 networks, {unique['graph_hash'].nunique()} unique graphs, "
          f"{rows['UniqueString'].nunique()} isomorphism classes\n")
    print("| ceiling | graphs | Kendall | Spearman |")
    print("|---|---|---|---|")
    print(f"| class mean of the other members (leave-one-out) | {len(multi)} | "
          f"{kendalltau(multi['loo'], multi['accuracy']).statistic:.3f} | "
          f"{spearmanr(multi['loo'], multi['accuracy']).statistic:.3f} |")
    both = unique[unique["label:cifar10_val_200ep"].notna()]
    print(f"| 200-epoch validation label vs test label | {len(both)} | "
          f"{kendalltau(both['label:cifar10_val_200ep'], both['accuracy']).statistic:.3f} | "
          f"{spearmanr(both['label:cifar10_val_200ep'], both['accuracy']).statistic:.3f} |")


if __name__ == "__main__":
    main()
