// Types of the few plotly.js functions this front end calls; jsconfig.json maps
// "plotly.js-basic-dist-min" here (the dist bundle ships no types).
declare const Plotly: {
  react(gd: HTMLElement, data: object[], layout: object, config?: object): Promise<HTMLElement>;
  purge(gd: HTMLElement): HTMLElement;
  downloadImage(gd: HTMLElement, opts: { format: string; filename: string; width?: number; height?: number }): Promise<string>;
  toImage(
    figure: HTMLElement | { data: object[]; layout: object },
    opts: { format: string; width?: number; height?: number; scale?: number },
  ): Promise<string>;
  Plots: { resize(gd: HTMLElement): Promise<HTMLElement> };
};
export default Plotly;
